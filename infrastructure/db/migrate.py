"""Alembic, driven from code: ``await upgrade(url)`` at start-up and in tests."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files

from alembic import command
from alembic.config import Config
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


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    await _run(url, lambda config: command.downgrade(config, revision))


async def _run(url: str, action: Callable[[Config], None]) -> None:
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
            await connection.run_sync(_run_with_connection, url, action)
    finally:
        await engine.dispose()


def _run_with_connection(
    connection: Connection, url: str, action: Callable[[Config], None]
) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    action(config)
