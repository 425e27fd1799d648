"""The migrations build exactly the schema the models describe, and undo it cleanly."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from domain.mailings import Channel, MailingStatus, ScheduleKind
from domain.recipients import AddressKind, ListSourceKind
from domain.runs import DeliveryStatus, RunStatus
from domain.users import Role
from infrastructure.db.engine import create_engine
from infrastructure.db.migrate import alembic_config, downgrade, upgrade
from infrastructure.db.models import metadata
from tests.support.db import BACKENDS, drop_database, fresh_pg_database, sqlite_url

SQLITE_SKIPS_EXPRESSION_INDEXES = [
    "ignore:Skipped unsupported reflection of expression-based index",
    "ignore:autogenerate skipping metadata-specified expression-based index",
]


@pytest.fixture(params=BACKENDS)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "stairway.db")
        return
    url = await fresh_pg_database()
    yield url
    await drop_database(url)


async def run_sync(url: str, fn: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


# Slow: every revision up, down and up again (3.4 + 3.0 s alone, up to 35 s under load).
# The fast loop keeps the quick checks of the same migrations: each test's database is
# upgraded to head (tests.support.db), test_models_match_the_migrations compares it with
# the models, and the in-flight test below upgrades from an old revision to head.
@pytest.mark.slow
async def test_every_revision_upgrades_downgrades_and_upgrades_again(empty_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(empty_url))
    revisions = list(reversed(list(script.walk_revisions())))
    assert [r.revision for r in revisions][:1] == ["0001"]

    for revision in revisions:
        await upgrade(empty_url, revision.revision)
        assert await run_sync(empty_url, current_revision) == revision.revision
        await downgrade(empty_url, str(revision.down_revision or "base"))
        await upgrade(empty_url, revision.revision)

    assert await run_sync(empty_url, current_revision) == script.get_current_head()
    assert {t.name for t in metadata.sorted_tables} <= await run_sync(empty_url, table_names)
    await downgrade(empty_url, "base")
    assert await run_sync(empty_url, table_names) == {"alembic_version"}


def schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


@pytest.mark.filterwarnings(*SQLITE_SKIPS_EXPRESSION_INDEXES)
async def test_models_match_the_migrations(database_url: str) -> None:
    assert await run_sync(database_url, schema_diff) == []


def index_names(connection: Connection) -> set[str]:
    if connection.dialect.name == "sqlite":  # its inspector hides expression indexes
        rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {name for (name,) in rows}
    return {str(ix["name"]) for t in metadata.tables for ix in inspect(connection).get_indexes(t)}


@pytest.mark.filterwarnings(*SQLITE_SKIPS_EXPRESSION_INDEXES)
async def test_the_case_insensitive_username_index_exists(database_url: str) -> None:
    assert "ix_users_username_lower" in await run_sync(database_url, index_names)


CHECKED_COLUMNS: list[tuple[str, str, type[enum.StrEnum]]] = [
    ("users", "role", Role),
    ("addresses", "kind", AddressKind),
    ("recipient_lists", "source_kind", ListSourceKind),
    ("mailings", "channel", Channel),
    ("mailings", "schedule_kind", ScheduleKind),
    ("mailings", "status", MailingStatus),
    ("mailing_runs", "status", RunStatus),
    ("deliveries", "status", DeliveryStatus),
]


def check_constraints(connection: Connection) -> dict[str, str]:
    inspector = inspect(connection)
    return {
        str(check["name"]): str(check["sqltext"])
        for table in {table for table, _, _ in CHECKED_COLUMNS}
        for check in inspector.get_check_constraints(table)
    }


async def test_the_database_accepts_every_value_of_the_domain_enums(database_url: str) -> None:
    # compare_metadata ignores CHECK constraints: a value added to a domain enum
    # without a migration would only fail at run time, so it fails here instead.
    checks = await run_sync(database_url, check_constraints)
    for table, column, values in CHECKED_COLUMNS:
        sqltext = checks[f"ck_{table}_{column}"]
        missing = [v.value for v in values if f"'{v.value}'" not in sqltext]
        assert not missing, f"{table}.{column} CHECK lacks {missing}: write a migration"


async def test_processes_starting_together_migrate_a_fresh_database_once() -> None:
    """The bot and several `mailforge worker` processes all migrate at start."""
    url = await fresh_pg_database()
    try:
        await asyncio.gather(*(upgrade(url) for _ in range(4)))
        script = ScriptDirectory.from_config(alembic_config(url))
        assert await run_sync(url, current_revision) == script.get_current_head()
    finally:
        await drop_database(url)


def fold_fixture(connection: Connection) -> None:
    connection.exec_driver_sql(
        "INSERT INTO mailings (id, owner_id, name, channel, body, status, timezone,"
        " created_at, updated_at) VALUES (1, 1, 'm', 'email', 'b', 'running', 'UTC',"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    connection.exec_driver_sql(
        "INSERT INTO mailing_runs (id, mailing_id, scheduled_for, status, content, pending,"
        " sending, delivered, failed, refused)"
        " VALUES (1, 1, CURRENT_TIMESTAMP, 'running', '{}', 2, 3, 4, 0, 0)"
    )
    connection.commit()


def run_totals(connection: Connection) -> tuple[int, int, int]:
    row = connection.exec_driver_sql(
        "SELECT pending, sending, delivered FROM mailing_runs WHERE id = 1"
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def test_runs_in_flight_at_the_upgrade_fold_sending_into_pending(empty_url: str) -> None:
    # 0006: claims no longer move pending -> sending in the run totals; a run claimed by
    # the old code keeps exact totals and can still finish (pending and sending both 0).
    await upgrade(empty_url, "0005")
    await run_sync(empty_url, fold_fixture)
    await upgrade(empty_url)
    assert await run_sync(empty_url, run_totals) == (5, 0, 4)
