"""``SqlRecipientImporter`` on PostgreSQL and SQLite: counts, merging, all or nothing."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import DomainError, NotFound
from domain.imports import ImportReport, ImportSource
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from infrastructure.db.models import AddressRow, ListMemberRow, RecipientListRow
from infrastructure.importers import SqlRecipientImporter

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
State = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


async def new_list(uow_factory: UnitOfWorkFactory, name: str = "Клиенты") -> int:
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(name=name, owner_id=1))
        await uow.commit()
    assert rlist.id is not None
    return rlist.id


def csv_file(folder: Path, text: str, name: str = "clients.csv") -> ImportSource:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return ImportSource(path, name)


async def stored(engine: AsyncEngine) -> State:
    """Every address (kind, value, attributes, suppression) and every membership."""
    async with engine.connect() as conn:
        addresses = await conn.execute(
            select(
                AddressRow.kind,
                AddressRow.value,
                AddressRow.attributes,
                AddressRow.unsubscribed_at,
                AddressRow.refused_at,
            ).order_by(AddressRow.kind, AddressRow.value)
        )
        members = await conn.execute(
            select(ListMemberRow.list_id, AddressRow.value)
            .join(AddressRow, AddressRow.id == ListMemberRow.address_id)
            .order_by(ListMemberRow.list_id, AddressRow.value)
        )
        return [tuple(row) for row in addresses], [tuple(row) for row in members]


async def attributes_of(engine: AsyncEngine, value: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        found = await conn.scalar(select(AddressRow.attributes).where(AddressRow.value == value))
    assert isinstance(found, dict)
    return found


async def test_a_file_is_stored_with_counts_dedupe_and_attributes(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    list_id = await new_list(uow_factory)
    source = csv_file(
        tmp_path,
        "Email;Telegram;Имя;Город\n"
        "ann@example.com;;Анна;Казань\n"
        "not-an-email;;Боб;Рим\n"
        "ANN@Example.com;;Анна К.;\n"  # the same address again: the later row wins
        ";123456789;Карл;Берлин\n"
        "dan@example.com;-1001234567890;Дэн;  \n",
    )
    report = await SqlRecipientImporter(db_engine).import_file(list_id, source)

    assert (report.rows, report.added, report.duplicates, report.invalid) == (5, 4, 1, 1)
    assert (report.already_there, report.suppressed) == (0, 0)
    assert report.kinds == {AddressKind.email: 3, AddressKind.telegram: 2}
    assert report.attributes == ["name", "город"]
    assert [(r.line, r.reason) for r in report.sample] == [(3, "import-invalid-email")]
    assert await attributes_of(db_engine, "ann@example.com") == {"name": "Анна К."}
    assert await attributes_of(db_engine, "-1001234567890") == {"name": "Дэн"}
    async with uow_factory() as uow:
        size = await uow.members.size(list_id)
        rlist = await uow.lists.get(list_id)
    assert (size.email, size.telegram, size.suppressed) == (2, 2, 0)
    assert rlist is not None and rlist.updated_at is not None and rlist.created_at is not None
    assert rlist.updated_at >= rlist.created_at


async def test_a_repeat_in_a_later_batch_wins_with_its_attributes(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    lines = [
        "email,name,city",
        "ann@x.ru,Ann,Kazan",
        "bob@x.ru,Bob,",
        "cid@x.ru,Cid,Rome",
        "ANN@x.ru,Анна,",  # a batch later: this row wins, its empty city included
        "bob@x.ru, ,Berlin",  # and a batch later again
    ]
    importer = SqlRecipientImporter(db_engine, batch_rows=2)  # three batches
    list_id = await new_list(uow_factory)
    report = await importer.import_file(list_id, csv_file(tmp_path, "\n".join(lines) + "\n"))

    assert (report.rows, report.added, report.duplicates, report.invalid) == (5, 3, 2, 0)
    assert await attributes_of(db_engine, "ann@x.ru") == {"name": "Анна"}
    assert await attributes_of(db_engine, "bob@x.ru") == {"city": "Berlin"}
    assert await attributes_of(db_engine, "cid@x.ru") == {"name": "Cid", "city": "Rome"}
    async with uow_factory() as uow:
        size = await uow.members.size(list_id)
    assert (size.email, size.telegram) == (3, 0)


async def test_a_second_import_refreshes_attributes_and_counts_members_already_there(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    list_id = await new_list(uow_factory)
    importer = SqlRecipientImporter(db_engine)
    first = "email,name,city\nann@x.ru,Ann,Kazan\nbob@x.ru,Bob,Rome\n"
    await importer.import_file(list_id, csv_file(tmp_path, first))
    second = "email,name,city,plan\nann@x.ru,,Moscow,gold\nbob@x.ru,Bob,Rome,\ncid@x.ru,,,\n"
    report = await importer.import_file(list_id, csv_file(tmp_path, second))

    assert (report.added, report.already_there, report.duplicates) == (1, 2, 0)
    assert await attributes_of(db_engine, "ann@x.ru") == {
        "name": "Ann",  # an empty cell never erases what is known
        "city": "Moscow",
        "plan": "gold",
    }
    assert await attributes_of(db_engine, "bob@x.ru") == {"name": "Bob", "city": "Rome"}
    assert await attributes_of(db_engine, "cid@x.ru") == {}


async def test_suppressed_addresses_become_members_but_are_counted_apart(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    list_id = await new_list(uow_factory)
    other_list = await new_list(uow_factory, "Другой")
    async with uow_factory() as uow:
        gone = await uow.addresses.upsert(
            Address(AddressKind.email, "gone@x.ru", unsubscribed_at=T0)
        )
        blocked = await uow.addresses.upsert(Address(AddressKind.telegram, "42", refused_at=T0))
        known = await uow.addresses.upsert(Address(AddressKind.email, "known@x.ru"))
        assert blocked.id is not None and known.id is not None and gone.id is not None
        await uow.members.add_members(list_id, [blocked.id, known.id])
        await uow.members.add_members(other_list, [gone.id])
        await uow.commit()
    text = "email,telegram\ngone@x.ru,\n,42\nknown@x.ru,\nnew@x.ru,\n"
    report = await SqlRecipientImporter(db_engine).import_file(list_id, csv_file(tmp_path, text))

    assert (report.added, report.already_there, report.suppressed) == (1, 1, 2)
    _, members = await stored(db_engine)
    assert sorted(value for lid, value in members if lid == list_id) == [
        "42",
        "gone@x.ru",
        "known@x.ru",
        "new@x.ru",
    ]


async def kept_and_live_counts(engine: AsyncEngine) -> tuple[set[Any], set[Any]]:
    """``list_counts`` (list, kind, members), and the same counted from the members."""
    async with engine.connect() as conn:
        kept = await conn.execute(text("SELECT list_id, kind, members FROM list_counts"))
        live = await conn.execute(
            text(
                "SELECT m.list_id, a.kind, count(*) FROM list_members m"
                " JOIN addresses a ON a.id = m.address_id GROUP BY m.list_id, a.kind"
            )
        )
        return {tuple(row) for row in kept if row[2]}, {tuple(row) for row in live}


async def test_imports_keep_the_member_counts_exact_and_leave_the_trigger_counting(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    """On PostgreSQL the importer counts the members it adds itself, in place of the
    count trigger (migration 0027): new and known addresses, members already there,
    suppressed ones, both kinds, a re-import; then a member added by hand on the same
    pool is counted by the trigger again."""
    list_id = await new_list(uow_factory)
    other_list = await new_list(uow_factory, "Другой")
    async with uow_factory() as uow:
        known = await uow.addresses.upsert(Address(AddressKind.email, "known@x.ru"))
        gone = await uow.addresses.upsert(
            Address(AddressKind.email, "gone@x.ru", unsubscribed_at=T0)
        )
        late = await uow.addresses.upsert(Address(AddressKind.telegram, "77"))
        assert known.id is not None and gone.id is not None and late.id is not None
        await uow.members.add_members(other_list, [known.id, gone.id])
        await uow.commit()
    importer = SqlRecipientImporter(db_engine)
    first = "email,telegram\nknown@x.ru,\ngone@x.ru,42\nann@x.ru,43\nANN@x.ru,\n"
    await importer.import_file(list_id, csv_file(tmp_path, first))
    second = "email,telegram\nann@x.ru,\nbob@x.ru,44\n"
    report = await importer.import_file(list_id, csv_file(tmp_path, second))
    assert (report.added, report.already_there) == (2, 1)
    async with uow_factory() as uow:
        await uow.members.add_members(list_id, [late.id])
        await uow.commit()

    kept, live = await kept_and_live_counts(db_engine)
    assert (
        kept
        == live
        == {
            (list_id, "email", 4),
            (list_id, "telegram", 4),
            (other_list, "email", 2),
        }
    )


async def test_the_rejected_file_lists_every_bad_row_with_formulas_escaped(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    list_id = await new_list(uow_factory)
    bad = [f"broken{i}@" for i in range(15)] + ["=cmd|' /C calc'!A0", "@SUM(A1)"]
    text = "email,name\nok@x.ru,Ok\n" + "".join(f"{b},-1+2\n" for b in bad)
    report = await SqlRecipientImporter(db_engine).import_file(list_id, csv_file(tmp_path, text))

    assert report.invalid == 17 and len(report.sample) == 10
    assert report.rejected_file == tmp_path / "clients.rejected.csv"
    with report.rejected_file.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file, delimiter=";"))
    assert rows[0] == ["line", "reason", "email", "name"] and len(rows) == 18
    assert rows[1] == ["3", "import-invalid-email", "broken0@", "'-1+2"]
    assert rows[16][2] == "'=cmd|' /C calc'!A0" and rows[17][2] == "'@SUM(A1)"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


async def test_a_file_with_no_valid_row_changes_nothing_and_carries_its_report(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    list_id = await new_list(uow_factory)
    before = await stored(db_engine)
    with pytest.raises(DomainError) as raised:
        await SqlRecipientImporter(db_engine).import_file(
            list_id, csv_file(tmp_path, "email\nnope\n@still-nope\n")
        )
    error = raised.value
    assert error.key == "import-all-invalid"
    assert (error.params["rows"], error.params["invalid"]) == (2, 2)
    report = error.params["report"]
    assert isinstance(report, ImportReport) and report.added == 0
    assert [(r.line, r.reason) for r in report.sample] == [
        (2, "import-invalid-email"),
        (3, "import-invalid-email"),
    ]
    assert report.rejected_file is not None and report.rejected_file.exists()
    assert await stored(db_engine) == before


async def test_an_unknown_list_is_not_found(db_engine: AsyncEngine, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as raised:
        await SqlRecipientImporter(db_engine).import_file(
            404, csv_file(tmp_path, "email\na@x.ru\n")
        )
    assert raised.value.key == "import-list-not-found"
    assert not (tmp_path / "clients.rejected.csv").exists()


class Boom(Exception):
    pass


async def test_a_failure_half_way_through_leaves_the_list_as_it_was(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    list_id = await new_list(uow_factory)
    importer = SqlRecipientImporter(db_engine, batch_rows=10_000)
    await importer.import_file(list_id, csv_file(tmp_path, "email,city\nu7@x.ru,Old\n"))
    async with uow_factory() as uow:
        touched_before = await uow.lists.get(list_id)
    before = await stored(db_engine)
    rows = "".join(f"u{i}@x.ru,New\n" for i in range(25_000)) + "bad,\n"
    seen: list[int] = []

    async def progress(done: int) -> None:
        seen.append(done)
        if done >= 12_500:
            raise Boom

    with pytest.raises(Boom):
        await importer.import_file(list_id, csv_file(tmp_path, "email,city\n" + rows), progress)

    assert seen == [10_000, 20_000]
    assert await stored(db_engine) == before
    async with uow_factory() as uow:
        touched_after = await uow.lists.get(list_id)
    assert touched_before == touched_after
    assert not (tmp_path / "clients.rejected.csv").exists()
    # and the importer (and its pooled connection) are fine afterwards
    report = await importer.import_file(list_id, csv_file(tmp_path, "email,city\n" + rows))
    assert (report.added, report.already_there, report.invalid) == (24_999, 1, 1)


async def test_progress_is_reported_every_batch_and_at_the_end(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    list_id = await new_list(uow_factory)
    seen: list[int] = []

    async def progress(done: int) -> None:
        seen.append(done)

    rows = "".join(f"{i}\n" for i in range(1, 2_501))
    importer = SqlRecipientImporter(db_engine, batch_rows=1_000)
    report = await importer.import_file(list_id, csv_file(tmp_path, rows, "ids.txt"), progress)
    assert seen == [1_000, 2_000, 2_500]
    assert report.kinds == {AddressKind.telegram: 2_500} and report.added == 2_500


async def test_the_list_timestamp_moves_on_import(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    list_id = await new_list(uow_factory)
    async with db_engine.begin() as conn:
        stale = update(RecipientListRow).values(updated_at=T0)
        await conn.execute(stale.where(RecipientListRow.id == list_id))
    await SqlRecipientImporter(db_engine).import_file(list_id, csv_file(tmp_path, "a@x.ru\n"))
    async with uow_factory() as uow:
        rlist = await uow.lists.get(list_id)
    assert rlist is not None and rlist.updated_at is not None and rlist.updated_at > T0
