"""Alembic, driven from code: ``await upgrade(url)`` at start-up and in tests."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from infrastructure.db.engine import create_engine

MIGRATION_LOCK = 0x6D61696C666F7267  # "mailforg": the advisory lock key of migrations


def migrations_dir() -> str:
    """The top-level ``migrations`` package, from a checkout or an installed wheel."""
    return str(files("migrations"))


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", migrations_dir())
    # Not set_main_option("sqlalchemy.url"): ConfigParser would choke on the ``%``
    # of a percent-encoded password. env.py reads the URL from here.
    config.attributes["database_url"] = url
    return config


@cache
def script_heads() -> frozenset[str]:
    """The head revision(s) of ``migrations``, read once per process: Alembic finds them
    by loading every revision file, ~20 ms of CPU each time."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate to ``revision``. A database already at the heads is only checked as after
    a migration (every start of the bot, each worker and each end-to-end test): Alembic's
    own no-op upgrade loads every revision file first, ~90 ms a start."""
    done_at = script_heads() if revision == "head" else None
    await _run(url, lambda config: command.upgrade(config, revision), done_at)


async def downgrade(url: str, revision: str) -> None:
    await _run(url, lambda config: command.downgrade(config, revision))


def check_foreign_keys(connection: Connection) -> None:
    """On SQLite foreign keys are off while migrating (see create_engine): prove that the
    table copies of batch mode left every reference intact (``migrations/env.py``)."""
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")


async def _run(
    url: str, action: Callable[[Config], None], done_at: frozenset[str] | None = None
) -> None:
    # Alembic's commands are synchronous: run one on a connection we open here,
    # through run_sync, so it works inside a running event loop (env.py sees the
    # connection in ``config.attributes`` and does not start a loop of its own).
    engine = create_engine(url, sqlite_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # The bot and every `mailforge worker` migrate at start; on PostgreSQL they
                # take turns (the lock ends with the transaction), the later ones find
                # the schema up to date.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await connection.run_sync(_run_with_connection, url, action, done_at)
    finally:
        await engine.dispose()


def _run_with_connection(
    connection: Connection,
    url: str,
    action: Callable[[Config], None],
    done_at: frozenset[str] | None,
) -> None:
    if done_at is not None:
        # The same context Alembic would configure (and its two log lines), which reads
        # the version table if there is one.
        context = MigrationContext.configure(connection, opts={"transactional_ddl": True})
        if frozenset(context.get_current_heads()) == done_at:
            check_foreign_keys(connection)
            return
    config = alembic_config(url)
    config.attributes["connection"] = connection
    action(config)
