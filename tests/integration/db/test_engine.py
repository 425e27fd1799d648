"""Engine settings that the rest of the system relies on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports.uow import UnitOfWorkFactory
from domain.users import User
from infrastructure.db.engine import create_engine
from tests.support.db import sqlite_url


async def sqlite_pragmas(engine: AsyncEngine) -> dict[str, object]:
    async with engine.connect() as connection:
        return {
            name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }


async def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.db"
    engine = create_engine(sqlite_url(path))
    try:
        pragmas = await sqlite_pragmas(engine)
    finally:
        await engine.dispose()

    assert path.exists()
    # synchronous: 1 is NORMAL, safe with WAL and much faster than FULL.
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "foreign_keys": 1,
        "synchronous": 1,
    }


async def test_migrations_connect_with_sqlite_foreign_keys_off(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "m.db"), sqlite_foreign_keys=False)
    try:
        assert (await sqlite_pragmas(engine))["foreign_keys"] == 0
    finally:
        await engine.dispose()


async def test_concurrent_units_of_work_that_read_then_write_all_succeed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # On SQLite a deferred transaction that reads and then writes fails with
    # "database is locked" when another one wrote meanwhile; BEGIN IMMEDIATE queues
    # them on busy_timeout instead.
    async def touch(telegram_id: int) -> None:
        async with uow_factory() as uow:
            assert await uow.users.get(telegram_id) is None
            await asyncio.sleep(0.005)
            await uow.users.add(User(telegram_id=telegram_id))
            await uow.commit()

    await asyncio.gather(*(touch(n) for n in range(1, 21)))

    async with uow_factory() as uow:
        assert all([await uow.users.get(n) for n in range(1, 21)])
