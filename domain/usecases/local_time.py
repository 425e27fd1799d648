"""A mailing sent at a local time in each recipient's zone, and quiet hours
(``domain.local_time``): set in the segment screen, applied by the launch."""

from __future__ import annotations

from domain.ab_test import AB_TEST
from domain.errors import InvalidInput
from domain.local_time import LOCAL_TIME, LocalTime
from domain.mailings import Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.segments import TAGS
from domain.usecases.mailings import ensure_editable, load_own


async def set_local_time(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, local: LocalTime | None
) -> Mailing:
    """``None`` switches it off (everyone at once). The zone field must be one the
    mailing's lists have."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        ensure_editable(mailing)
        if local is not None and AB_TEST in mailing.options:
            raise InvalidInput("ab-not-with-local-time")
        if local is not None and local.field is not None:
            known = await uow.audiences.fields(mailing.list_ids)
            if local.field == TAGS or local.field not in known:
                raise InvalidInput("segment-unknown-field", field=local.field[:60])
        options = {k: v for k, v in mailing.options.items() if k != LOCAL_TIME}
        if local is not None:
            options[LOCAL_TIME] = local.to_json()
        mailing.options = options
        await uow.mailings.update(mailing)
        await uow.commit()
    return mailing
