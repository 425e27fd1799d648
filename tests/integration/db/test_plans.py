"""Big tables keep good plans (PostgreSQL): statements are planned for the tables as they
are, the queue's writes find their rows by primary key whatever the planner estimates,
and a big import or snapshot refreshes the statistics before work depends on them.

The speed itself is measured by ``bench/plans.py`` (a 1,000,000-recipient list imported
into a fresh database and launched at once)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.imports import ImportSource
from domain.mailings import Channel, Mailing
from domain.recipients import AddressKind, RecipientList
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db import queue_sql as sql
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.statistics import worth_analyzing
from infrastructure.importers import SqlRecipientImporter
from tests.integration.db.test_queue import T0, add_bulk_list, add_run
from tests.support.db import temporary_database

# The deliveries index walked by status alone: every pending row once per claimed row.
STATUS_ONLY = re.compile(r"ix_deliveries_run_id_status_id[^\n]*\n\s*Index Cond: \(\(status\)")


@pytest.fixture
async def fresh_engine() -> AsyncIterator[AsyncEngine]:
    """A migrated database nobody has written to (so never analyzed)."""
    async with temporary_database("postgresql") as url:
        engine = create_engine(url)
        yield engine
        await engine.dispose()


async def plan(
    engine: AsyncEngine, statement: str, types: dict[str, str], mode: str = "force_generic_plan"
) -> str:
    """The plan of ``statement`` on the tables as they are now, as PostgreSQL would cache
    it (``force_generic_plan``) or make it for one execution of a batch of 1,000
    (``force_custom_plan``): ``:name`` parameters become typed ``$n`` ones."""
    names = list(types)
    for position, name in enumerate(names, 1):
        statement = statement.replace(f":{name}", f"${position}")
    url = make_url(str(engine.url)).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await conn.execute(f"SET plan_cache_mode = {mode}")
        await conn.execute(f"PREPARE probe({', '.join(types.values())}) AS {statement}")
        values = ", ".join(SAMPLES[kind] for kind in types.values())
        return "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN EXECUTE probe({values})"))
    finally:
        await conn.close()


SAMPLES = {  # a batch of 1,000 rows
    "timestamptz": "now()",
    "int": "1000",
    "bigint": "1",
    "bigint[]": "'{" + ",".join(str(i) for i in range(1, 1001)) + "}'::bigint[]",
    "text[]": "array_fill('delivered'::text, ARRAY[1000])",
    "timestamptz[]": "array_fill(NULL::timestamptz, ARRAY[1000])",
    "int[]": "array_fill(0, ARRAY[1000])",
    "boolean[]": "array_fill(false, ARRAY[1000])",
}
STATEMENTS = {
    "claim": (sql._PG_CLAIM, {"now": "timestamptz", "limit": "int", "worker": "bigint"}),
    "complete": (
        sql._PG_COMPLETE,
        {
            "now": "timestamptz",
            "ids": "bigint[]",
            "statuses": "text[]",
            "errors": "text[]",
            "providers": "text[]",
            "next_ats": "timestamptz[]",
            "given_backs": "int[]",
            "losts": "boolean[]",
        },
    ),
    "lock": (sql._PG_LOCK_SENDING, {"ids": "bigint[]"}),
    "requeue": (
        sql._PG_REQUEUE,
        {"now": "timestamptz", "ids": "bigint[]", "statuses": "text[]", "errors": "text[]"},
    ),
}


async def test_statements_are_planned_for_the_tables_as_they_are(
    fresh_engine: AsyncEngine,
) -> None:
    async with fresh_engine.connect() as conn:
        mode = (await conn.exec_driver_sql("SHOW plan_cache_mode")).scalar_one()
    assert mode == "force_custom_plan"


async def test_no_plan_made_on_empty_tables_walks_the_rows_by_status(
    fresh_engine: AsyncEngine,
) -> None:
    for name, (statement, types) in STATEMENTS.items():
        generic = await plan(fresh_engine, statement, types)
        assert not STATUS_ONLY.search(generic), f"{name}:\n{generic}"
    claim = await plan(fresh_engine, *STATEMENTS["claim"])
    update = claim[claim.index("CTE claimed") :]
    assert "Index Scan using pk_deliveries on deliveries" in update, claim


async def test_a_batch_finds_its_rows_by_primary_key_in_a_small_table(
    fresh_engine: AsyncEngine,
) -> None:
    """A table of a few thousand rows, analyzed (a new install, the bench): the planner
    found it cheaper to join a batch to the whole table than to look its rows up, and read
    every delivery row once per record (and every address once per claim): PostgreSQL's
    CPU per letter grew with the table (bench/delivery.py --e2e, email). The claim's own
    update still joins its picked rows by id: written so that the planner may not scan,
    it lost the primary key when planned on empty tables (the test above)."""
    uow_factory = make_uow_factory(create_session_factory(fresh_engine))
    list_id = await add_bulk_list(fresh_engine, 5_000)
    queue = SqlDeliveryQueue(fresh_engine)
    for day in range(3):
        run_id = await add_run(uow_factory, slot=T0.replace(day=T0.day + day))
        assert await queue.snapshot(run_id, [list_id], [AddressKind.email]) == 5_000
    async with fresh_engine.begin() as conn:
        await conn.execute(text("ANALYZE addresses"))
    for name, (statement, types) in STATEMENTS.items():
        custom = await plan(fresh_engine, statement, types, mode="force_custom_plan")
        looked_up = custom[custom.index("CTE claimed") :] if name == "claim" else custom
        if name == "claim":
            looked_up = looked_up[looked_up.index("\n  ->") :]  # after the update
        for table in ("deliveries", "addresses"):
            assert f"Seq Scan on {table}" not in looked_up, f"{name}:\n{custom}"


async def last_analyzed(engine: AsyncEngine) -> dict[str, bool]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables")
        )
        return {str(name): bool(done) for name, done in rows}


async def test_a_big_import_and_its_launch_refresh_the_statistics_first(
    fresh_engine: AsyncEngine, tmp_path: Path
) -> None:
    uow_factory = make_uow_factory(create_session_factory(fresh_engine))
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Crowd", 1))
        await uow.commit()
    assert rlist.id is not None
    path = tmp_path / "ids.csv"
    path.write_text("telegram_id\n" + "".join(f"{7_000_000 + i}\n" for i in range(2_000)))
    before = await last_analyzed(fresh_engine)
    assert not any(before.values())

    await SqlRecipientImporter(fresh_engine).import_file(rlist.id, ImportSource(path, "ids.csv"))
    after_import = await last_analyzed(fresh_engine)
    assert after_import["addresses"] and after_import["list_members"]
    assert not after_import["deliveries"]

    run_id = await add_run(uow_factory, slot=T0)
    queue = SqlDeliveryQueue(fresh_engine)
    assert await queue.snapshot(run_id, [rlist.id], [AddressKind.telegram]) == 2_000
    assert (await last_analyzed(fresh_engine))["deliveries"]


async def test_a_small_change_leaves_the_statistics_to_autovacuum(
    fresh_engine: AsyncEngine,
) -> None:
    uow_factory = make_uow_factory(create_session_factory(fresh_engine))
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Few", 1))
        mailing = await uow.mailings.add(Mailing(1, "M", Channel.telegram, list_ids=[]))
        await uow.commit()
    assert rlist.id is not None and mailing.id is not None
    run_id = await add_run(uow_factory, slot=T0)
    assert await SqlDeliveryQueue(fresh_engine).snapshot(run_id, [rlist.id], []) == 0
    assert not any((await last_analyzed(fresh_engine)).values())


def test_analyze_follows_autovacuums_threshold() -> None:
    assert not worth_analyzing(50, -1)  # a handful of rows: not worth a pass
    assert worth_analyzing(51, -1)  # never counted
    assert worth_analyzing(151, 1_000)  # 50 + 10 %
    assert not worth_analyzing(150, 1_000)
    assert not worth_analyzing(50_000, 1_000_000)  # 5 % more of a big table
    assert worth_analyzing(200_000, 1_000_000)
