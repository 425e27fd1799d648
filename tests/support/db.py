"""Throw-away databases for tests, e2e runs and benchmarks.

Helpers (plain async functions, usable outside pytest)::

    url = await fresh_pg_database()         # empty database on the test server
    await upgrade(url)                      # infrastructure.db.migrate
    ...
    await drop_database(url)

    async with temporary_database("sqlite", tmp_dir) as url: ...   # migrated, removed after

Fixtures: ``pg_server_url``, ``pg_database_url`` (empty, per session),
``sqlite_database_url`` (empty, per test), ``migrated_pg_url`` and
``migrated_sqlite_url`` (migrated and empty, per test), ``database_url`` (both of
those, parametrized), ``db_engine`` and ``uow_factory`` (on ``database_url``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import asyncpg
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from domain.ports.uow import UnitOfWorkFactory
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.db.models import metadata

DEFAULT_PG_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("postgresql", "sqlite")
Backend = Literal["postgresql", "sqlite"]


def pg_admin_url() -> str:
    """The maintenance database URL of the test server (env ``TEST_PG_URL`` overrides)."""
    return os.environ.get("TEST_PG_URL", DEFAULT_PG_SERVER_URL)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _admin(server_url: str, sql: str) -> None:
    # CREATE/DROP DATABASE refuse to run inside a transaction.
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(sql)
    finally:
        await engine.dispose()


async def fresh_pg_database(server_url: str | None = None, prefix: str = "mailforge_test") -> str:
    """Create an empty, uniquely named database and return its URL."""
    server_url = server_url or pg_admin_url()
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str, server_url: str | None = None) -> None:
    """Drop a PostgreSQL database even if connections are still open, or delete a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            await asyncio.to_thread(_remove_sqlite_files, Path(parsed.database))
        return
    server_url = server_url or pg_admin_url()
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


# A table with at least this many rows is truncated rather than deleted from: its dead
# rows would otherwise slow the next tests' scans until autovacuum came by.
_TRUNCATE_FROM_ROWS = 1000


async def truncate_all(url: str) -> None:
    """Empty every application table and restart identities (PostgreSQL), and drop the
    field indexes saved segments build at run time (``segment_index.py``), which are not
    in the migrations: the session's database must look freshly migrated again.

    Only the tables a test wrote to are emptied, small ones by ``DELETE`` with triggers
    and foreign-key checks off (all of them end empty): a ``TRUNCATE`` of all 24 tables
    made new files for each table and index, 0.1 s unloaded and 0.4-0.8 s under the
    parallel suite before every test. All of it is one statement on one bare asyncpg
    connection without SSL negotiation: through a SQLAlchemy engine, its round trips
    took 7 ms of the test process's CPU and 33 ms before every test; this 1.5 and 11."""
    async with _bare_connection(url) as connection:
        await connection.execute(_EMPTY_TABLES)


def _empty_tables_sql() -> str:
    names = ", ".join(f"'{table.name}'" for table in metadata.sorted_tables)  # ours
    return f"""
DO $$
DECLARE
    least bigint := CASE WHEN current_setting('is_superuser') = 'on'
                    THEN {_TRUNCATE_FROM_ROWS} ELSE 1 END;
    name text;
    found bigint;
    big text[] := '{{}}';
    small text[] := '{{}}';
BEGIN
    FOREACH name IN ARRAY ARRAY[{names}] LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I LIMIT %s) AS head',
                       name, {_TRUNCATE_FROM_ROWS}) INTO found;
        IF found >= least THEN
            big := big || name;
        ELSIF found > 0 THEN
            small := small || name;
        END IF;
    END LOOP;
    IF cardinality(big) > 0 THEN
        EXECUTE 'TRUNCATE ' || (SELECT string_agg(format('%I', b), ', ') FROM unnest(big) AS b)
            || ' CASCADE';
    END IF;
    IF cardinality(small) > 0 THEN
        -- Triggers (list counts, NOTIFY) and foreign keys would only re-check or
        -- re-count rows that are all going (turning them off takes a superuser).
        SET LOCAL session_replication_role = replica;
        FOREACH name IN ARRAY small LOOP
            EXECUTE format('DELETE FROM %I', name);
        END LOOP;
    END IF;
    PERFORM setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)
        FROM pg_sequences
        WHERE schemaname = current_schema() AND last_value IS NOT NULL;
    FOR name IN
        SELECT indexname FROM pg_indexes WHERE tablename = 'addresses'
            AND indexname LIKE 'ix\\_addresses\\_attr\\_%'
    LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I', name);
    END LOOP;
END
$$"""  # noqa: S608 - our table names and a constant


_EMPTY_TABLES = _empty_tables_sql()


@asynccontextmanager
async def _bare_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection to ``url`` (a SQLAlchemy URL), SSL off unless it says."""
    parsed = make_url(url)
    ssl = parsed.query.get("ssl", parsed.query.get("sslmode"))
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
        ssl=ssl if isinstance(ssl, str) else False,
    )
    try:
        yield connection
    finally:
        await connection.close()


@asynccontextmanager
async def temporary_database(
    backend: Backend, directory: Path | None = None
) -> AsyncIterator[str]:
    """A migrated database that is removed afterwards; SQLite needs ``directory``."""
    if backend == "postgresql":
        url = await fresh_pg_database()
    elif directory is not None:
        url = sqlite_url(directory / f"mailforge-{secrets.token_hex(4)}.db")
    else:
        raise ValueError("a SQLite database needs a directory")
    try:
        await upgrade(url)
        yield url
    finally:
        await drop_database(url)


# -- fixtures --------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """The test server has SSL off: asyncpg's default (``prefer``) asked for it on every
    connection first, 0.6 ms of CPU and a round trip per connect. PGSSLMODE set by the
    caller (a server that wants SSL) wins."""
    os.environ.setdefault("PGSSLMODE", "disable")


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    return pg_admin_url()


@pytest.fixture(scope="session")
async def pg_database_url(pg_server_url: str) -> AsyncIterator[str]:
    """An empty database for the whole session, dropped at the end.

    Its commits do not wait for the WAL to reach the disk (``synchronous_commit = off``):
    what a commit wrote is seen by every session at once all the same, and only a crash of
    the server itself could lose it, which no test using this database makes (the outage
    tests run their own cluster). The wait was half of a commit's 13-14 ms under the load
    of the others' benches (6-7 ms without, 100 commits each way, load 12)."""
    url = await fresh_pg_database(pg_server_url)
    name = make_url(url).database
    await _admin(pg_server_url, f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    yield url
    await drop_database(url, pg_server_url)


@pytest.fixture(scope="session")
async def pg_schema_url(pg_database_url: str) -> str:
    """``pg_database_url`` migrated to head, once per session."""
    await upgrade(pg_database_url)
    return pg_database_url


@pytest.fixture
async def migrated_pg_url(pg_schema_url: str) -> str:
    """The session's migrated PostgreSQL database, emptied for this test."""
    await truncate_all(pg_schema_url)
    return pg_schema_url


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet."""
    return sqlite_url(tmp_path / "mailforge.db")


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    await upgrade(sqlite_url(path))
    return path


@pytest.fixture
def migrated_sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite file: a copy of one migrated per session."""
    target = tmp_path / "migrated.db"
    shutil.copyfile(sqlite_template, target)
    return sqlite_url(target)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database; tests using it run once per backend."""
    fixture = "migrated_pg_url" if request.param == "postgresql" else "migrated_sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


# For a test whose subject is not the database (routing, headers, limits kept in memory,
# a document): it runs on PostgreSQL only, the production database, instead of once per
# backend. Only where another test already covers its queries on SQLite.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def uow_factory(db_engine: AsyncEngine) -> UnitOfWorkFactory:
    return make_uow_factory(create_session_factory(db_engine))
