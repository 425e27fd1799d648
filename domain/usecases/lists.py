"""Recipient lists: shared by the team; only the owner or an admin renames or deletes.

Any member of staff may view lists and change their members (import, add, remove).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import AccessDenied, Conflict, InvalidInput, NotFound
from domain.imports import ImportReport, ImportSource, ProgressCallback
from domain.mailings import MailingStatus
from domain.pagination import Page
from domain.ports.imports import RecipientImporter
from domain.ports.recipients import AddressParser
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import Address, ListSize, ListSourceKind, RecipientList
from domain.usecases.access import record, require_staff
from domain.users import User

NAME_MAX = 100
MEMBERS_PAGE = 10
# A list in use by these mailings cannot be deleted: they would lose their audience.
BUSY = (MailingStatus.scheduled, MailingStatus.running, MailingStatus.paused)


@dataclass(frozen=True, slots=True)
class ListView:
    rlist: RecipientList
    size: ListSize


async def _list(uow: UnitOfWork, list_id: int) -> RecipientList:
    rlist = await uow.lists.get(list_id)
    if rlist is None:
        raise NotFound("lists-not-found")
    return rlist


def _owner_or_admin(actor: User, rlist: RecipientList) -> None:
    if not actor.is_admin and rlist.owner_id != actor.telegram_id:
        raise AccessDenied("lists-not-owner")


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput("lists-name-invalid", max=NAME_MAX)
    return name


async def _ensure_free(uow: UnitOfWork, name: str, list_id: int | None = None) -> None:
    clash = await uow.lists.find_by_name(name)
    if clash is not None and clash.id != list_id:
        raise Conflict("lists-name-taken", name=name)


async def overview(uow_factory: UnitOfWorkFactory, actor_id: int) -> list[ListView]:
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        lists = await uow.lists.all()
        return [ListView(r, await uow.members.size(r.id)) for r in lists if r.id is not None]


async def view(uow_factory: UnitOfWorkFactory, actor_id: int, list_id: int) -> ListView:
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        rlist = await _list(uow, list_id)
        return ListView(rlist, await uow.members.size(list_id))


async def create(
    uow_factory: UnitOfWorkFactory,
    actor_id: int,
    name: str,
    source_kind: ListSourceKind = ListSourceKind.manual,
) -> RecipientList:
    name = clean_name(name)
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        await _ensure_free(uow, name)
        rlist = await uow.lists.add(RecipientList(name, actor_id, source_kind=source_kind))
        await record(uow, actor_id, "list.create", ("list", rlist.id), {"name": name})
        await uow.commit()
    return rlist


async def create_unique(uow_factory: UnitOfWorkFactory, actor_id: int, name: str) -> RecipientList:
    """A new list named ``name``, or ``name (2)``, ``name (3)``… when that is taken."""
    base = clean_name(name or "list")[: NAME_MAX - 6]
    async with uow_factory() as uow:
        candidate, n = base, 1
        while await uow.lists.find_by_name(candidate) is not None:
            n += 1
            candidate = f"{base} ({n})"
    return await create(uow_factory, actor_id, candidate)


async def rename(
    uow_factory: UnitOfWorkFactory, actor_id: int, list_id: int, name: str
) -> RecipientList:
    name = clean_name(name)
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        rlist = await _list(uow, list_id)
        _owner_or_admin(actor, rlist)
        await _ensure_free(uow, name, list_id)
        old, rlist.name = rlist.name, name
        await uow.lists.update(rlist)
        await record(uow, actor_id, "list.rename", ("list", rlist.id), {"from": old, "to": name})
        await uow.commit()
    return rlist


async def delete(uow_factory: UnitOfWorkFactory, actor_id: int, list_id: int) -> str:
    """Returns the deleted list's name; refused while an active mailing targets it."""
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        rlist = await _list(uow, list_id)
        _owner_or_admin(actor, rlist)
        busy = await uow.mailings.using_list(list_id, BUSY)
        if busy:
            names = ", ".join(f"«{m.name}»" for m in busy[:5])
            raise Conflict("lists-in-use", mailings=names)
        await uow.lists.delete(list_id)
        await record(uow, actor_id, "list.delete", ("list", rlist.id), {"name": rlist.name})
        await uow.commit()
    return rlist.name


async def members(
    uow_factory: UnitOfWorkFactory,
    actor_id: int,
    list_id: int,
    page: int,
    query: str | None = None,
) -> Page[Address]:
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        await _list(uow, list_id)
        return await uow.members.members(list_id, max(page, 0), MEMBERS_PAGE, query)


async def add_address(
    uow_factory: UnitOfWorkFactory,
    parser: AddressParser,
    actor_id: int,
    list_id: int,
    text: str,
) -> tuple[Address, bool]:
    """Add one typed address; ``False`` when it was a member already."""
    kind, value = parser.parse(text)
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        rlist = await _list(uow, list_id)
        address = await uow.addresses.upsert(Address(kind=kind, value=value))
        assert address.id is not None
        added = await uow.members.add_members(list_id, [address.id]) > 0
        await uow.lists.update(rlist)  # bumps updated_at
        await uow.commit()
    return address, added


async def remove_address(
    uow_factory: UnitOfWorkFactory,
    parser: AddressParser,
    actor_id: int,
    list_id: int,
    text: str,
) -> tuple[str, bool]:
    """The address as normalised, and whether it was a member (and is removed now)."""
    kind, value = parser.parse(text)
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        rlist = await _list(uow, list_id)
        address = await uow.addresses.find(kind, value)
        removed = False
        if address is not None and address.id is not None:
            removed = await uow.members.remove_member(list_id, address.id)
        if removed:
            await uow.lists.update(rlist)
            await uow.commit()
    return value, removed


async def import_file(
    uow_factory: UnitOfWorkFactory,
    importer: RecipientImporter,
    actor_id: int,
    list_id: int,
    source: ImportSource,
    *,
    source_kind: ListSourceKind,
    source_ref: str | None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a file into a list and remember where it came from, to re-import later."""
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        await _list(uow, list_id)
    report = await importer.import_file(list_id, source, progress)
    async with uow_factory() as uow:
        rlist = await _list(uow, list_id)
        rlist.source_kind, rlist.source_ref = source_kind, source_ref
        rlist.fields = sorted({*rlist.fields, *report.attributes})  # segments offer them
        await uow.lists.update(rlist)
        details = {"source": source_kind.value, "added": report.added, "invalid": report.invalid}
        await record(uow, actor_id, "list.import", ("list", rlist.id), details)
        await uow.commit()
    return report


async def import_into_new_list(
    uow_factory: UnitOfWorkFactory,
    importer: RecipientImporter,
    actor_id: int,
    name: str,
    source: ImportSource,
    *,
    source_kind: ListSourceKind,
    source_ref: str | None,
    progress: ProgressCallback | None = None,
) -> tuple[RecipientList | None, ImportReport]:
    """A new list named ``name`` (or ``name (2)``…) filled from ``source``.

    An import that ends with nothing imported (an error, every row rejected, no rows)
    leaves no empty list behind: the list is ``None`` then, and an error is raised again
    once the list is gone."""
    rlist = await create_unique(uow_factory, actor_id, name)
    assert rlist.id is not None
    try:
        report = await import_file(
            uow_factory,
            importer,
            actor_id,
            rlist.id,
            source,
            source_kind=source_kind,
            source_ref=source_ref,
            progress=progress,
        )
    except BaseException:
        await _drop_new(uow_factory, rlist.id)
        raise
    async with uow_factory() as uow:
        empty = (await uow.members.size(rlist.id)).total == 0
    if empty:
        await _drop_new(uow_factory, rlist.id)
        return None, report
    return rlist, report


async def _drop_new(uow_factory: UnitOfWorkFactory, list_id: int) -> None:
    """Removes a list this import created (no mailing can use it yet)."""
    async with uow_factory() as uow:
        await uow.lists.delete(list_id)
        await uow.commit()


async def remove_gone(uow_factory: UnitOfWorkFactory, actor_id: int, list_id: int) -> int:
    """ "Update from source"'s second half, on the manager's confirmation: the members the
    source no longer holds leave the list, all in one transaction; returns how many."""
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        rlist = await _list(uow, list_id)
        removed = await uow.members.remove_gone(list_id)
        if removed:
            await uow.lists.update(rlist)  # bumps updated_at
            details = {"removed": removed}
            await record(uow, actor_id, "list.remove_gone", ("list", rlist.id), details)
            await uow.commit()
    return removed


async def import_subscribers(uow_factory: UnitOfWorkFactory, actor_id: int, list_id: int) -> int:
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        rlist = await _list(uow, list_id)
        added = await uow.members.add_subscribers(list_id)
        rlist.source_kind, rlist.source_ref = ListSourceKind.subscribers, None
        await uow.lists.update(rlist)
        await record(
            uow,
            actor_id,
            "list.import",
            ("list", rlist.id),
            {"source": "subscribers", "added": added},
        )
        await uow.commit()
    return added
