"""Recipient-list use cases (``domain.usecases.lists``) on the in-memory unit of work:
lists are shared by the team, only their owner or an admin renames or deletes them, a
list some active mailing targets stays, members change one address at a time, and a new
list made for an import is removed again when the import brings nobody in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.errors import AccessDenied, Conflict, InvalidInput, NotFound
from domain.imports import ImportReport, ImportSource, ProgressCallback
from domain.mailings import Channel, Mailing, MailingStatus
from domain.recipients import Address, AddressKind, ListSourceKind
from domain.usecases import lists
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

OWNER, COLLEAGUE, ADMIN, STRANGER = 1, 2, 3, 4
NOW = datetime(2026, 12, 7, tzinfo=UTC)


class EmailParser:
    """``AddressParser``: the typed text as a lowercased email (the real rules are
    ``infrastructure.importers.validation``'s, tested there)."""

    def parse(self, text: str) -> tuple[AddressKind, str]:
        if "@" not in text:
            raise InvalidInput("lists-address-invalid")
        return AddressKind.email, text.strip().lower()


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(
        users=[
            User(OWNER, role=Role.manager),
            User(COLLEAGUE, role=Role.manager),
            User(ADMIN, role=Role.admin),
            User(STRANGER),
        ]
    )


async def test_a_new_list_is_the_callers_with_a_clean_name_and_an_audit_entry(
    db: MemoryDatabase,
) -> None:
    made = await lists.create(db.uow_factory, OWNER, "  VIP   clients ")
    assert (db.lists[made.id or 0].name, db.lists[made.id or 0].owner_id) == ("VIP clients", OWNER)
    assert db.lists[made.id or 0].source_kind is ListSourceKind.manual
    assert [e.action for e in db.audit] == ["list.create"]
    with pytest.raises(AccessDenied):
        await lists.create(db.uow_factory, STRANGER, "Mine")
    with pytest.raises(InvalidInput):
        await lists.create(db.uow_factory, OWNER, " ")


async def test_list_names_are_unique_for_the_whole_team(db: MemoryDatabase) -> None:
    await lists.create(db.uow_factory, OWNER, "Clients")
    with pytest.raises(Conflict) as taken:
        await lists.create(db.uow_factory, COLLEAGUE, "CLIENTS")
    assert taken.value.key == "lists-name-taken"
    second = await lists.create_unique(db.uow_factory, COLLEAGUE, "Clients")
    third = await lists.create_unique(db.uow_factory, COLLEAGUE, "clients")
    assert (second.name, third.name) == ("Clients (2)", "clients (3)")


async def test_only_the_owner_or_an_admin_renames_or_deletes(db: MemoryDatabase) -> None:
    rlist = await lists.create(db.uow_factory, OWNER, "Clients")
    with pytest.raises(AccessDenied) as refused:
        await lists.rename(db.uow_factory, COLLEAGUE, rlist.id or 0, "Ours")
    assert refused.value.key == "lists-not-owner"
    with pytest.raises(AccessDenied):
        await lists.delete(db.uow_factory, COLLEAGUE, rlist.id or 0)
    # but every member of staff sees it
    assert (await lists.view(db.uow_factory, COLLEAGUE, rlist.id or 0)).rlist.name == "Clients"

    await lists.rename(db.uow_factory, ADMIN, rlist.id or 0, "Customers")
    assert db.lists[rlist.id or 0].name == "Customers"
    assert db.audit[-1].details == {"from": "Clients", "to": "Customers"}
    assert await lists.delete(db.uow_factory, OWNER, rlist.id or 0) == "Customers"
    assert db.lists == {}
    with pytest.raises(NotFound):
        await lists.view(db.uow_factory, OWNER, rlist.id or 0)


async def test_renaming_to_its_own_name_in_another_case_is_fine(db: MemoryDatabase) -> None:
    rlist = await lists.create(db.uow_factory, OWNER, "clients")
    await lists.create(db.uow_factory, OWNER, "Partners")
    await lists.rename(db.uow_factory, OWNER, rlist.id or 0, "Clients")
    with pytest.raises(Conflict):
        await lists.rename(db.uow_factory, OWNER, rlist.id or 0, "partners")
    assert db.lists[rlist.id or 0].name == "Clients"


@pytest.mark.parametrize("status", list(lists.BUSY))
async def test_a_list_an_active_mailing_targets_cannot_be_deleted(
    db: MemoryDatabase, status: MailingStatus
) -> None:
    rlist = await lists.create(db.uow_factory, OWNER, "Clients")
    async with db.uow_factory() as uow:
        await uow.mailings.add(
            Mailing(COLLEAGUE, "Promo", Channel.email, list_ids=[rlist.id or 0], status=status)
        )
        await uow.commit()
    with pytest.raises(Conflict) as refused:
        await lists.delete(db.uow_factory, OWNER, rlist.id or 0)
    assert refused.value.key == "lists-in-use" and "«Promo»" in refused.value.params["mailings"]
    assert rlist.id in db.lists


async def test_drafts_and_finished_mailings_do_not_hold_a_list(db: MemoryDatabase) -> None:
    rlist = await lists.create(db.uow_factory, OWNER, "Clients")
    async with db.uow_factory() as uow:
        for n, status in enumerate((MailingStatus.draft, MailingStatus.completed)):
            mailing = Mailing(OWNER, f"M{n}", Channel.email, list_ids=[rlist.id or 0])
            mailing.status = status
            await uow.mailings.add(mailing)
        await uow.commit()
    await lists.delete(db.uow_factory, OWNER, rlist.id or 0)
    assert db.lists == {}
    assert all(m.list_ids == [] for m in db.mailings.values())


async def test_adding_and_removing_one_typed_address(db: MemoryDatabase) -> None:
    rlist = await lists.create(db.uow_factory, OWNER, "Clients")
    list_id = rlist.id or 0
    parser = EmailParser()
    address, added = await lists.add_address(
        db.uow_factory, parser, COLLEAGUE, list_id, " Ann@Example.COM"
    )
    assert added and address.value == "ann@example.com"
    _, again = await lists.add_address(db.uow_factory, parser, OWNER, list_id, "ann@example.com")
    assert again is False  # a member already: one row, not two
    assert (await lists.view(db.uow_factory, OWNER, list_id)).size.email == 1

    page = await lists.members(db.uow_factory, OWNER, list_id, 0, query="ANN")
    assert [a.value for a in page.items] == ["ann@example.com"]

    assert await lists.remove_address(
        db.uow_factory, parser, OWNER, list_id, "bob@example.com"
    ) == ("bob@example.com", False)
    assert await lists.remove_address(
        db.uow_factory, parser, OWNER, list_id, "ANN@example.com"
    ) == ("ann@example.com", True)
    assert db.members[list_id] == []
    assert len(db.addresses) == 1  # the address stays (its history, its suppression)
    with pytest.raises(InvalidInput):
        await lists.add_address(db.uow_factory, parser, OWNER, list_id, "not an address")
    with pytest.raises(AccessDenied):
        await lists.add_address(db.uow_factory, parser, STRANGER, list_id, "eve@example.com")


async def test_subscribers_become_members_unless_suppressed(db: MemoryDatabase) -> None:
    rlist = await lists.create(db.uow_factory, OWNER, "Bot fans")
    async with db.uow_factory() as uow:
        await uow.addresses.upsert(Address(AddressKind.telegram, "10", subscribed_at=NOW))
        await uow.addresses.upsert(
            Address(AddressKind.telegram, "11", subscribed_at=NOW, unsubscribed_at=NOW)
        )
        await uow.addresses.upsert(Address(AddressKind.telegram, "12"))  # never pressed /start
        await uow.commit()
    added = await lists.import_subscribers(db.uow_factory, COLLEAGUE, rlist.id or 0)
    assert added == 1
    kept = db.lists[rlist.id or 0]
    assert (kept.source_kind, kept.source_ref) == (ListSourceKind.subscribers, None)
    assert db.audit[-1].details == {"source": "subscribers", "added": 1}
    assert await lists.import_subscribers(db.uow_factory, OWNER, rlist.id or 0) == 0


async def test_the_overview_counts_each_list_by_kind(db: MemoryDatabase) -> None:
    first = await lists.create(db.uow_factory, OWNER, "A")
    await lists.create(db.uow_factory, COLLEAGUE, "B")
    parser = EmailParser()
    await lists.add_address(db.uow_factory, parser, OWNER, first.id or 0, "a@example.com")
    views = await lists.overview(db.uow_factory, COLLEAGUE)
    assert [(v.rlist.name, v.size.total) for v in views] == [("A", 1), ("B", 0)]


# -- a new list made for an import: kept only with members (create, then compensate) ----


class Importer:
    """``RecipientImporter`` from a script: each call adds ``adds`` addresses to the list
    (all or nothing, as the port says), or raises ``error``."""

    def __init__(self, db: MemoryDatabase, adds: int = 0, error: Exception | None = None):
        self.db, self.adds, self.error = db, adds, error
        self.lists: list[int] = []

    async def import_file(
        self, list_id: int, source: ImportSource, progress: ProgressCallback | None = None
    ) -> ImportReport:
        self.lists.append(list_id)
        if self.error is not None:
            raise self.error
        async with self.db.uow_factory() as uow:
            ids = []
            for i in range(self.adds):
                address = Address(AddressKind.email, f"p{i}@example.com", {"city": "Riga"})
                ids.append((await uow.addresses.upsert(address)).id or 0)
            await uow.members.add_members(list_id, ids)
            await uow.commit()
        return ImportReport(rows=self.adds, added=self.adds, attributes=["city"])

    async def sheet_names(self, source: ImportSource) -> list[str]:
        return []


SOURCE = ImportSource(Path("people.csv"), "people.csv")


async def into_new(db: MemoryDatabase, importer: Importer, name: str = "People") -> Any:
    return await lists.import_into_new_list(
        db.uow_factory,
        importer,
        OWNER,
        name,
        SOURCE,
        source_kind=ListSourceKind.url,
        source_ref="https://x.example/people.csv",
    )


async def test_an_import_into_a_new_list_keeps_the_list_with_its_source(
    db: MemoryDatabase,
) -> None:
    await lists.create(db.uow_factory, OWNER, "People")
    made, report = await into_new(db, Importer(db, adds=3))
    assert made is not None and made.name == "People (2)"  # the name was taken
    assert report.added == 3
    kept = db.lists[made.id or 0]
    assert (kept.source_kind, kept.source_ref) == (
        ListSourceKind.url,
        "https://x.example/people.csv",
    )
    assert kept.fields == ["city"]  # segments offer the imported columns
    assert [e.action for e in db.audit] == ["list.create", "list.create", "list.import"]


async def test_a_failed_import_removes_the_list_it_made_and_says_why(db: MemoryDatabase) -> None:
    importer = Importer(db, error=InvalidInput("import-no-address-column"))
    with pytest.raises(InvalidInput) as refused:
        await into_new(db, importer)
    assert refused.value.key == "import-no-address-column"
    assert importer.lists and importer.lists[0] not in db.lists  # made, then removed
    assert db.lists == {}


async def test_an_import_that_adds_nobody_leaves_no_empty_list(db: MemoryDatabase) -> None:
    made, report = await into_new(db, Importer(db, adds=0))
    assert made is None and report.added == 0
    assert db.lists == {}


async def test_an_interrupted_import_removes_its_new_list_too(db: MemoryDatabase) -> None:
    with pytest.raises(asyncio.CancelledError):  # the bot stops mid-import
        await into_new(db, Importer(db, error=asyncio.CancelledError()))
    assert db.lists == {}


async def test_an_import_into_a_list_that_exists_never_removes_it(db: MemoryDatabase) -> None:
    rlist = await lists.create(db.uow_factory, OWNER, "Clients")
    importer = Importer(db, error=InvalidInput("import-empty-file"))
    with pytest.raises(InvalidInput):
        await lists.import_file(
            db.uow_factory,
            importer,
            COLLEAGUE,
            rlist.id or 0,
            SOURCE,
            source_kind=ListSourceKind.file,
            source_ref="people.csv",
        )
    assert db.lists[rlist.id or 0].source_kind is ListSourceKind.manual  # as it was
    with pytest.raises(AccessDenied):  # not staff: refused before anything is made
        await lists.import_into_new_list(
            db.uow_factory,
            Importer(db, adds=1),
            STRANGER,
            "Mine",
            SOURCE,
            source_kind=ListSourceKind.file,
            source_ref=None,
        )
    assert [r.name for r in db.lists.values()] == ["Clients"]
