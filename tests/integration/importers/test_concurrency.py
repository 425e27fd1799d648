"""Imports beside other writers: a racing insert on PostgreSQL, a shared file on SQLite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.models import AddressRow
from infrastructure.importers import SqlRecipientImporter
from infrastructure.importers.importer import BATCH_ROWS
from tests.integration.importers.test_sql_importer import attributes_of, csv_file, new_list


@pytest.fixture
async def pg_engine(migrated_pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_pg_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(migrated_sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_sqlite_url)
    yield engine
    await engine.dispose()


async def test_a_new_address_inserted_meanwhile_by_someone_else_is_merged(
    pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    uow_factory = make_uow_factory(create_session_factory(pg_engine))
    list_id = await new_list(uow_factory)
    commits: list[asyncio.Task[None]] = []

    async def someone_else_inserts(_: int) -> None:
        # Inserted before the import looks addresses up, committed after it does: the
        # import sees a new address, then collides with this one on the unique key.
        connection = await pg_engine.connect()
        await connection.execute(
            text("INSERT INTO addresses (kind, value, attributes) VALUES (:k, :v, :a)"),
            {"k": "email", "v": "racer@x.ru", "a": '{"source": "bot"}'},
        )

        async def commit_later() -> None:
            await asyncio.sleep(0.5)
            await connection.commit()
            await connection.close()

        commits.append(asyncio.create_task(commit_later()))

    source = csv_file(tmp_path, "email,name\nfirst@x.ru,F\nracer@x.ru,R\n")
    report = await SqlRecipientImporter(pg_engine).import_file(
        list_id, source, someone_else_inserts
    )
    await asyncio.gather(*commits)

    assert report.added == 2
    assert await attributes_of(pg_engine, "racer@x.ru") == {"source": "bot", "name": "R"}
    async with uow_factory() as uow:
        assert (await uow.members.size(list_id)).email == 2
    async with pg_engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(AddressRow)) == 2


async def test_a_member_added_by_hand_during_an_import_waits_for_it(
    pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    """list_members has no foreign key to the list (migration 0024): the list row's lock
    still makes an addition wait until the import commits, instead of colliding with the
    import's own insert of the same member."""
    uow_factory = make_uow_factory(create_session_factory(pg_engine))
    list_id = await new_list(uow_factory)
    async with uow_factory() as uow:
        known = await uow.addresses.upsert(Address(AddressKind.email, "both@x.ru"))
        old = await uow.addresses.upsert(Address(AddressKind.email, "old@x.ru"))
        assert known.id is not None and old.id is not None
        await uow.members.add_members(list_id, [old.id])  # the list's counts row exists
        await uow.commit()
    added: list[asyncio.Task[int]] = []

    async def add_by_hand() -> int:
        async with uow_factory() as uow:
            count = await uow.members.add_members(list_id, [known.id])
            await uow.commit()
            return count

    async def waiting() -> int:
        async with pg_engine.connect() as conn:
            found = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            return int(found or 0)

    async def someone_adds_meanwhile(_: int) -> None:
        # The import holds the list (its rows are being copied; it looks members up next).
        added.append(asyncio.create_task(add_by_hand()))
        deadline = time.monotonic() + 30
        while await waiting() == 0:
            assert time.monotonic() < deadline, "the addition did not wait for the import"
            assert not added[0].done(), "the addition went through during the import"
            await asyncio.sleep(0.05)

    source = csv_file(tmp_path, "email\nboth@x.ru\nnew@x.ru\n")
    report = await SqlRecipientImporter(pg_engine).import_file(
        list_id, source, someone_adds_meanwhile
    )
    assert report.added == 2
    assert await added[0] == 0  # the import made it a member first
    async with uow_factory() as uow:
        assert (await uow.members.size(list_id)).email == 3


async def test_on_sqlite_reading_the_file_does_not_lock_the_database(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    uow_factory: UnitOfWorkFactory = make_uow_factory(create_session_factory(sqlite_engine))
    list_id = await new_list(uow_factory)
    waited: list[float] = []

    async def the_bot_writes_meanwhile(done: int) -> None:
        started = time.perf_counter()
        async with uow_factory() as uow:
            await uow.addresses.upsert(Address(AddressKind.telegram, str(done)))
            await uow.commit()
        waited.append(time.perf_counter() - started)

    rows = "".join(f"u{i}@x.ru\n" for i in range(25_000))
    report = await SqlRecipientImporter(sqlite_engine).import_file(
        list_id, csv_file(tmp_path, "email\n" + rows), the_bot_writes_meanwhile
    )
    assert report.added == 25_000
    assert len(waited) == -(-25_000 // BATCH_ROWS)  # after each batch
    assert max(waited) < 1.0  # never the 5 s busy timeout
