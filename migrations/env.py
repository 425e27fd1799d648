"""Alembic environment, async, for PostgreSQL and SQLite.

The URL comes from ``infrastructure.db.migrate`` (``config.attributes``) or, for the
``alembic`` command line, from the DATABASE_URL environment variable.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, make_url

from infrastructure.db.engine import create_engine
from infrastructure.db.migrate import check_foreign_keys
from infrastructure.db.models import metadata

config = context.config


def database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("set DATABASE_URL, e.g. sqlite+aiosqlite:///data/mailforge.db")
    return str(url)


def configure(dialect: str, **options: Any) -> None:
    context.configure(
        target_metadata=metadata,
        compare_type=True,
        # SQLite alters most things by copying the table: batch mode does that for us.
        render_as_batch=dialect == "sqlite",
        # Our SQLite engine issues a real BEGIN, so its DDL is transactional too.
        transactional_ddl=True,
        **options,
    )


def run_on(connection: Connection) -> None:
    configure(connection.dialect.name, connection=connection)
    with context.begin_transaction():
        context.run_migrations()
    check_foreign_keys(connection)


async def run_async() -> None:
    engine = create_engine(database_url(), sqlite_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    url = make_url(database_url())
    configure(url.get_backend_name(), url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    run_on(shared)
else:
    asyncio.run(run_async())
