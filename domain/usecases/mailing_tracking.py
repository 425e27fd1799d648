"""A mailing's tracking and UTM switches, set from the dialog's tracking step."""

from __future__ import annotations

from domain.mailings import Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.tracking_plan import Switch, clean_utm_content, switched, with_utm_content
from domain.usecases import mailings


async def switch(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, which: Switch
) -> Mailing:
    """Turn one switch the other way; the mailing must be the caller's and editable."""
    mailing = await mailings.get(uow_factory, actor_id, mailing_id)
    options = switched(mailing.options, which)
    return await mailings.update(uow_factory, actor_id, mailing_id, options=options)


async def set_utm_content(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, text: str
) -> Mailing:
    """``utm_content`` as typed (``-`` removes it); giving one turns UTM tags on."""
    value = clean_utm_content(text)
    mailing = await mailings.get(uow_factory, actor_id, mailing_id)
    options = with_utm_content(mailing.options, value)
    return await mailings.update(uow_factory, actor_id, mailing_id, options=options)
