""" "Update from source" on PostgreSQL and SQLite: a re-import from the list's source
(``ImportSource.sync``) adds and updates, marks the members the source no longer holds
(in the import's own transaction) without removing them, a later import that finds one
clears its mark, and ``lists.remove_gone`` removes exactly the marked ones."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.imports import ImportSource
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import RecipientList
from domain.usecases import lists
from domain.users import Role, User
from infrastructure.db.models import AddressRow, ListMemberRow
from infrastructure.importers import SqlRecipientImporter

MANAGER = 1


async def setup(uow_factory: UnitOfWorkFactory) -> tuple[int, int]:
    async with uow_factory() as uow:
        await uow.users.add(User(MANAGER, role=Role.manager))
        clients = await uow.lists.add(RecipientList("Clients", MANAGER))
        others = await uow.lists.add(RecipientList("Others", MANAGER))
        await uow.commit()
    assert clients.id is not None and others.id is not None
    return clients.id, others.id


def csv_file(folder: Path, *emails: str, sync: bool = False) -> ImportSource:
    path = folder / "source.csv"
    path.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    return replace(ImportSource(path, "source.csv"), sync=sync)


async def members(engine: AsyncEngine, list_id: int) -> dict[str, bool]:
    """Each member's address, and whether it is marked gone."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(AddressRow.value, ListMemberRow.gone_at.is_not(None))
            .join(AddressRow, AddressRow.id == ListMemberRow.address_id)
            .where(ListMemberRow.list_id == list_id)
        )
        return {value: bool(gone) for value, gone in rows}


async def test_a_resync_marks_what_left_the_source_and_the_confirmation_removes_it(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    clients, others = await setup(uow_factory)
    importer = SqlRecipientImporter(db_engine)
    await importer.import_file(clients, csv_file(tmp_path, "ann@x.ru", "bob@x.ru", "cid@x.ru"))
    await importer.import_file(others, csv_file(tmp_path, "bob@x.ru"))

    again = await importer.import_file(
        clients, csv_file(tmp_path, "ann@x.ru", "eve@x.ru", sync=True)
    )

    assert (again.added, again.already_there, again.gone) == (1, 1, 2)
    assert await members(db_engine, clients) == {  # marked, nothing removed yet
        "ann@x.ru": False,
        "bob@x.ru": True,
        "cid@x.ru": True,
        "eve@x.ru": False,  # new in the source
    }
    plain = await importer.import_file(clients, csv_file(tmp_path, "cid@x.ru"))  # cid is back
    assert plain.gone == 0
    assert (await members(db_engine, clients))["cid@x.ru"] is False

    assert await lists.remove_gone(uow_factory, MANAGER, clients) == 1
    assert await members(db_engine, clients) == {
        "ann@x.ru": False,
        "cid@x.ru": False,
        "eve@x.ru": False,
    }
    assert await members(db_engine, others) == {"bob@x.ru": False}  # untouched
    assert await lists.remove_gone(uow_factory, MANAGER, clients) == 0


async def test_a_resync_that_finds_everyone_marks_nobody(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    clients, _ = await setup(uow_factory)
    importer = SqlRecipientImporter(db_engine)
    await importer.import_file(clients, csv_file(tmp_path, "ann@x.ru", "bob@x.ru"))
    again = await importer.import_file(
        clients, csv_file(tmp_path, "bob@x.ru", "ann@x.ru", sync=True)
    )
    assert again.gone == 0
    assert await members(db_engine, clients) == {"ann@x.ru": False, "bob@x.ru": False}
