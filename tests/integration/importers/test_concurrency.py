"""Imports beside other writers: a racing insert on PostgreSQL, a shared file on SQLite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports import UnitOfWorkFactory
from domain.recipients import Address, AddressKind
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.models import AddressRow
from infrastructure.importers import SqlRecipientImporter
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
        assert (await uow.lists.size(list_id)).email == 2
    async with pg_engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(AddressRow)) == 2


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
    assert len(waited) == 3 and max(waited) < 1.0  # never the 5 s busy timeout
