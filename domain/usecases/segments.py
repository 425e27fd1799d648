"""A mailing's segment, built a condition at a time, and the saved segments of /lists.

Every change is validated where it is typed (``domain.segments``: a field the mailing's
lists have, a value of the right type) and stored at once; the reachable count that
follows it is the preview's (the same ``INSERT … SELECT`` condition the run snapshots).
"""

from __future__ import annotations

from datetime import date

from domain.clock import SystemClock
from domain.errors import Conflict, InvalidInput, NotFound
from domain.mailings import CHANNEL_KINDS, Mailing
from domain.ports.segments import FieldIndexes
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import AddressKind, Audience
from domain.saved_segments import SavedSegment, indexed_fields
from domain.segments import TAGS, Op, check_fields, local_today, parse_condition
from domain.targeting import Targeting
from domain.usecases.access import record, require_staff
from domain.usecases.mailings import ensure_editable, load_own

NAME_MAX = 100


async def fields(uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int) -> list[str]:
    """The fields a condition may use: those of the mailing's lists, then ``tags``."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        found = await uow.audiences.fields(mailing.list_ids)
    return [*(f for f in found if f != TAGS), TAGS]


async def add_condition(
    uow_factory: UnitOfWorkFactory,
    actor_id: int,
    mailing_id: int,
    field: str,
    op: Op,
    text: str | None = None,
) -> Mailing:
    """One more condition; ``InvalidInput`` (nothing stored) for a field no list of the
    mailing has or a value of the wrong type."""
    condition = parse_condition(field, op, text)
    async with uow_factory() as uow:
        mailing = await _editable(uow, actor_id, mailing_id)
        segment = mailing.targeting.segment.adding(condition)
        check_fields(segment, await uow.audiences.fields(mailing.list_ids))
        return await _store(uow, mailing, mailing.targeting.with_segment(segment))


async def remove_condition(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, index: int
) -> Mailing:
    async with uow_factory() as uow:
        mailing = await _editable(uow, actor_id, mailing_id)
        segment = mailing.targeting.segment.without(index)
        return await _store(uow, mailing, mailing.targeting.with_segment(segment))


async def switch_match(uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int) -> Mailing:
    """All conditions ⇄ any condition."""
    async with uow_factory() as uow:
        mailing = await _editable(uow, actor_id, mailing_id)
        segment = mailing.targeting.segment.switched()
        return await _store(uow, mailing, mailing.targeting.with_segment(segment))


async def toggle_excluded_list(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, list_id: int
) -> Mailing:
    """Leave a list's members out, or take them back."""
    async with uow_factory() as uow:
        mailing = await _editable(uow, actor_id, mailing_id)
        if await uow.lists.get(list_id) is None:
            raise NotFound("lists-not-found")
        return await _store(uow, mailing, mailing.targeting.toggled("exclude_lists", list_id))


async def toggle_excluded_mailing(
    uow_factory: UnitOfWorkFactory,
    actor_id: int,
    mailing_id: int,
    other_id: int,
    *,
    clicked: bool = False,
) -> Mailing:
    """Leave out who got ``other_id`` (or, with ``clicked``, who clicked in it), or take
    them back. Only a mailing the caller may see can be named."""
    async with uow_factory() as uow:
        mailing = await _editable(uow, actor_id, mailing_id)
        await load_own(uow, actor_id, other_id)
        name = "exclude_clicked" if clicked else "exclude_got"
        return await _store(uow, mailing, mailing.targeting.toggled(name, other_id))


async def excluded_names(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing: Mailing
) -> dict[int, str]:
    """The names of the mailings whose recipients or clickers ``mailing`` leaves out."""
    ids = {*mailing.targeting.exclude_got, *mailing.targeting.exclude_clicked}
    names: dict[int, str] = {}
    async with uow_factory() as uow:
        for other_id in sorted(ids):
            found = await uow.mailings.get(other_id)
            names[other_id] = found.name if found is not None else f"#{other_id}"
    return names


async def reachable(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, today: date | None = None
) -> Audience:
    """Who the mailing reaches now, segment and exclusions applied."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        return await audience_of(uow, mailing, today)


async def audience_of(uow: UnitOfWork, mailing: Mailing, today: date | None = None) -> Audience:
    kinds = [AddressKind(k) for k in CHANNEL_KINDS[mailing.channel]]
    day = today or local_today(mailing.schedule.timezone, SystemClock().now())
    return await uow.audiences.audience(mailing.list_ids, kinds, mailing.targeting, day)


# -- saved segments ------------------------------------------------------------------------
async def save(
    uow_factory: UnitOfWorkFactory,
    actor_id: int,
    mailing_id: int,
    name: str,
    indexes: FieldIndexes | None = None,
) -> SavedSegment:
    """The mailing's segment, kept under ``name`` for other mailings; its equality fields
    get an index (``indexes``): a saved segment is one used often."""
    name = clean_name(name)
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        if mailing.targeting.segment.is_empty:
            raise InvalidInput("segment-nothing-to-save")
        if await uow.segments.find(actor_id, name) is not None:
            raise Conflict("segments-name-taken", name=name)
        saved = await uow.segments.add(SavedSegment(actor_id, name, mailing.targeting.segment))
        await record(uow, actor_id, "segment.save", ("segment", saved.id), {"name": name})
        await uow.commit()
    if indexes is not None:
        await indexes.ensure(indexed_fields(saved.segment))
    return saved


async def use_saved(
    uow_factory: UnitOfWorkFactory,
    actor_id: int,
    mailing_id: int,
    segment_id: int,
    *,
    exclude: bool = False,
) -> Mailing:
    """A saved segment becomes the mailing's segment (a copy: later changes to either stay
    apart), or, with ``exclude``, the segment whose members are left out."""
    async with uow_factory() as uow:
        mailing = await _editable(uow, actor_id, mailing_id)
        saved = await _own_saved(uow, actor_id, segment_id)
        check_fields(saved.segment, await uow.audiences.fields(mailing.list_ids))
        if exclude:
            targeting = Targeting(
                segment=mailing.targeting.segment,
                exclude_lists=mailing.targeting.exclude_lists,
                exclude_segment=saved.segment,
                exclude_segment_name=saved.name,
                exclude_got=mailing.targeting.exclude_got,
                exclude_clicked=mailing.targeting.exclude_clicked,
            )
        else:
            targeting = mailing.targeting.with_segment(saved.segment)
        return await _store(uow, mailing, targeting)


async def saved_segments(uow_factory: UnitOfWorkFactory, actor_id: int) -> list[SavedSegment]:
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        return await uow.segments.of_owner(actor_id)


async def delete_saved(uow_factory: UnitOfWorkFactory, actor_id: int, segment_id: int) -> str:
    """Mailings that used it keep their copy."""
    async with uow_factory() as uow:
        saved = await _own_saved(uow, actor_id, segment_id)
        await uow.segments.delete(segment_id)
        await record(uow, actor_id, "segment.delete", ("segment", segment_id), {})
        await uow.commit()
    return saved.name


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput("segments-name-invalid", max=NAME_MAX)
    return name


# -- helpers -------------------------------------------------------------------------------
async def _editable(uow: UnitOfWork, actor_id: int, mailing_id: int) -> Mailing:
    _, mailing = await load_own(uow, actor_id, mailing_id)
    ensure_editable(mailing)
    return mailing


async def _own_saved(uow: UnitOfWork, actor_id: int, segment_id: int) -> SavedSegment:
    """Someone else's saved segment looks like a missing one."""
    await require_staff(uow, actor_id)
    saved = await uow.segments.get(segment_id)
    if saved is None or saved.owner_id != actor_id:
        raise NotFound("segments-not-found")
    return saved


async def _store(uow: UnitOfWork, mailing: Mailing, targeting: Targeting) -> Mailing:
    mailing.targeting = targeting
    await uow.mailings.update(mailing)
    await uow.commit()
    return mailing
