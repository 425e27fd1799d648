"""Engines and sessions for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from domain.ab_test import bucket
from infrastructure.db.base import json_serializer

# Every statement is planned with its actual parameters and the tables' current sizes.
# asyncpg prepares each statement once per connection; after five runs PostgreSQL may
# switch to a generic plan, and one made while the tables were empty outlives them:
# with a 1,000,000-recipient run launched right after its import into a fresh database,
# the claim's generic plan walked every pending row once per claimed row (46 s a claim,
# sending stopped after 620 messages); planned each time, it took ~20 ms from the first
# batch (bench/plans.py). Planning costs a fraction of a millisecond per statement.
PG_SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


def create_engine(
    url: str, *, sqlite_foreign_keys: bool = True, echo: bool = False
) -> AsyncEngine:
    """An engine for ``url``; ``sqlite_foreign_keys=False`` is for migrations only.

    (Alembic's batch mode recreates SQLite tables, and dropping a referenced table
    with foreign keys on would cascade-delete the rows that refer to it.)
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, foreign_keys=sqlite_foreign_keys, echo=echo)
    return _pg_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def create_poll_engine(engine: AsyncEngine) -> AsyncEngine:
    """For reads of one statement that clients repeat (``GET /runs/{id}`` while a run
    sends): on PostgreSQL an engine of its own in autocommit, without the pool's ping,
    so that such a read is one round trip instead of four (ping, BEGIN, the statement,
    ROLLBACK); its reader retries once on a connection the server dropped
    (``repositories.api_tokens.SqlTokenRunReader``). SQLite has no round trips:
    ``engine`` itself."""
    if engine.dialect.name != "postgresql":
        return engine
    return _pg_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8)


def _pg_engine(url: URL, *, echo: bool = False, **pool: Any) -> AsyncEngine:
    return _create_async_engine(
        url,
        echo=echo,
        json_serializer=json_serializer,
        hide_parameters=True,  # errors must not print addresses or message text
        pool_recycle=1800,
        connect_args={"server_settings": dict(PG_SERVER_SETTINGS)},
        **pool,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _sqlite_engine(url: URL, *, foreign_keys: bool, echo: bool) -> AsyncEngine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = _create_async_engine(
        url, echo=echo, json_serializer=json_serializer, hide_parameters=True
    )
    pragmas = (*SQLITE_PRAGMAS, f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is deferred and skips DDL; we issue ours below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()
        # SQLite's lower() folds ASCII only; segments compare any alphabet (db/segments.py).
        dbapi_connection.create_function("mf_casefold", 1, _casefold, deterministic=True)
        # An A/B test's split in the snapshot (ab_split.py): PostgreSQL computes it in SQL.
        dbapi_connection.create_function("mf_ab_bucket", 2, bucket, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a transaction that reads and then
        # writes waits on busy_timeout instead of failing with SQLITE_BUSY midway.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()
