""" "Update from source" (``domain.usecases.reimport``) on the in-memory unit of work: a
link is downloaded again, a Sendsay list exported again, either imported with ``sync``;
subscribers are added again; a file's list asks for the file. The importer, the fetcher
and the exporter are the ports' contracts in a few lines (the real ones are tested in
``tests/integration/importers``, ``fetch`` and ``sendsay``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.errors import DomainError, NotFound
from domain.imports import ImportReport, ImportSource, ProgressCallback, RejectedLabels
from domain.recipients import Address, AddressKind, ListSourceKind, RecipientList
from domain.usecases import reimport
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

MANAGER, STRANGER = 1, 2
LINK = "https://x.example/people.csv"
WORKDIR = Path("/tmp/reimport")
T0 = datetime(2026, 12, 7, tzinfo=UTC)


class Importer:
    """Imports nothing for real: keeps what it was given, reports two gone members."""

    def __init__(self) -> None:
        self.got: list[tuple[int, ImportSource]] = []

    async def import_file(
        self, list_id: int, source: ImportSource, progress: ProgressCallback | None = None
    ) -> ImportReport:
        self.got.append((list_id, source))
        if progress is not None:
            await progress(10)
        return ImportReport(rows=10, added=1, already_there=9, gone=2)

    async def sheet_names(self, source: ImportSource) -> list[str]:
        return []


class Links:
    def __init__(self, error: DomainError | None = None) -> None:
        self.error, self.fetched = error, []  # type: list[tuple[str, Path]]

    async def fetch(self, url: str, dest_dir: Path) -> ImportSource:
        self.fetched.append((url, dest_dir))
        if self.error is not None:
            raise self.error
        return ImportSource(dest_dir / "people.csv", "people.csv")


class Sendsay:
    def __init__(self) -> None:
        self.exported: list[str] = []

    @property
    def available(self) -> bool:
        return True

    async def lists(self) -> list[tuple[str, str]]:
        return [("pl1", "Clients")]

    async def export(self, list_ref: str, dest_dir: Path) -> ImportSource:
        self.exported.append(list_ref)
        return ImportSource(dest_dir / "sendsay.csv", "sendsay.csv")


async def a_list(db: MemoryDatabase, kind: ListSourceKind, ref: str | None) -> int:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(
            RecipientList("People", MANAGER, source_kind=kind, source_ref=ref)
        )
        await uow.commit()
    assert rlist.id is not None
    return rlist.id


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(users=[User(MANAGER, role=Role.manager), User(STRANGER)])


async def test_a_link_is_downloaded_again_and_imported_with_sync(db: MemoryDatabase) -> None:
    list_id = await a_list(db, ListSourceKind.url, LINK)
    importer, links, said = Importer(), Links(), []
    seen: list[int] = []

    async def progress(done: int) -> None:
        seen.append(done)

    async def downloading() -> None:
        said.append("downloading")

    labels = RejectedLabels(line="Строка")
    done = await reimport.reimport(
        db.uow_factory,
        importer,
        reimport.Sources(links, Sendsay()),
        MANAGER,
        list_id,
        WORKDIR,
        labels=labels,
        progress=progress,
        downloading=downloading,
    )

    assert done.kind is ListSourceKind.url and not done.needs_file
    assert done.report is not None and done.report.gone == 2  # offered for removal
    assert links.fetched == [(LINK, WORKDIR)] and said == ["downloading"]
    [(into, source)] = importer.got
    assert into == list_id and source.sync and source.labels == labels
    assert seen == [10]
    kept = db.lists[list_id]
    assert (kept.source_kind, kept.source_ref) == (ListSourceKind.url, LINK)  # kept
    assert [e.action for e in db.audit] == ["list.import"]


async def test_a_sendsay_list_is_exported_again(db: MemoryDatabase) -> None:
    list_id = await a_list(db, ListSourceKind.sendsay, "pl1")
    importer, sendsay = Importer(), Sendsay()
    sources = reimport.Sources(Links(), sendsay)
    done = await reimport.reimport(db.uow_factory, importer, sources, MANAGER, list_id, WORKDIR)
    assert done.kind is ListSourceKind.sendsay and done.report is not None
    assert sendsay.exported == ["pl1"]
    assert importer.got[0][1].sync and importer.got[0][1].filename == "sendsay.csv"


async def test_subscribers_are_added_again_without_a_download(db: MemoryDatabase) -> None:
    list_id = await a_list(db, ListSourceKind.subscribers, None)
    async with db.uow_factory() as uow:
        await uow.addresses.upsert(Address(AddressKind.telegram, "77", subscribed_at=T0))
        await uow.commit()
    importer, links = Importer(), Links()
    sources = reimport.Sources(links, Sendsay())
    done = await reimport.reimport(db.uow_factory, importer, sources, MANAGER, list_id, WORKDIR)
    assert done.kind is ListSourceKind.subscribers and done.report is None
    assert done.added == 1
    assert not done.needs_file and links.fetched == [] and importer.got == []


@pytest.mark.parametrize(
    ("kind", "ref"),
    [
        (ListSourceKind.file, "people.csv"),
        (ListSourceKind.manual, None),
        (ListSourceKind.url, None),
    ],
)
async def test_a_list_that_cannot_be_fetched_asks_for_the_file(
    db: MemoryDatabase, kind: ListSourceKind, ref: str | None
) -> None:
    list_id = await a_list(db, kind, ref)
    importer, links, sendsay = Importer(), Links(), Sendsay()
    sources = reimport.Sources(links, sendsay)
    done = await reimport.reimport(db.uow_factory, importer, sources, MANAGER, list_id, WORKDIR)
    assert done.needs_file and done.report is None
    assert (links.fetched, sendsay.exported, importer.got) == ([], [], [])
    assert not reimport.refetchable(db.lists[list_id])


async def test_a_failed_download_imports_nothing_and_says_why(db: MemoryDatabase) -> None:
    list_id = await a_list(db, ListSourceKind.url, LINK)
    importer = Importer()
    sources = reimport.Sources(Links(DomainError("fetch-not-a-table")), Sendsay())
    with pytest.raises(DomainError) as refused:
        await reimport.reimport(db.uow_factory, importer, sources, MANAGER, list_id, WORKDIR)
    assert refused.value.key == "fetch-not-a-table"
    assert importer.got == [] and db.audit == []


async def test_only_staff_and_only_an_existing_list(db: MemoryDatabase) -> None:
    list_id = await a_list(db, ListSourceKind.url, LINK)
    importer, links = Importer(), Links()
    sources = reimport.Sources(links, Sendsay())
    with pytest.raises(DomainError):
        await reimport.reimport(db.uow_factory, importer, sources, STRANGER, list_id, WORKDIR)
    with pytest.raises(NotFound):
        await reimport.reimport(db.uow_factory, importer, sources, MANAGER, 999, WORKDIR)
    assert links.fetched == [] and importer.got == []
