"""Benchmark: segment counts and segmented snapshots on a big list (PostgreSQL).

    .venv/bin/python bench/segments.py            # 1,000,000 members
    .venv/bin/python bench/segments.py --quick    # 20,000 (the test suite)

A fresh database gets one list of addresses with imported-looking fields (city among
50, age, plan, a signup date, a few tags). The reachable count the dialog shows after each
condition (``lists.audience`` with a targeting, the first recipient included) is timed for
conditions on an indexed field (after ``SqlFieldIndexes``, as a saved segment makes it),
on the same field unindexed, and on numbers, dates and tags; the plain count is the
baseline. Then a run's snapshot (``SqlDeliveryQueue.snapshot``) of the whole list is
timed plain and with a segment that every member matches (the same rows to insert; the
condition's cost alone), and with a narrow one, interleaved and each after a checkpoint.
Each figure is the best of a few runs.
Drops its database at the end.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.args import bench_args
from domain.mailings import Channel, Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind
from domain.runs import MailingRun, RunStatus
from domain.segments import TAGS, Condition, Op, Segment
from domain.targeting import Targeting
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.segment_index import SqlFieldIndexes
from tests.support.db import drop_database, fresh_pg_database

TODAY = date(2026, 12, 7)
TODAY_AT = datetime(2026, 12, 7, 10, tzinfo=UTC)
EMAIL = [AddressKind.email]
FILL = """
INSERT INTO addresses (kind, value, attributes)
SELECT 'email', 'u' || i || '@example.com', jsonb_build_object(
    'city', 'City ' || (i % 50),
    'age', (18 + i % 60)::text,
    'plan', (ARRAY['free', 'pro', 'team'])[1 + i % 3],
    'signed', to_char(DATE '2020-01-01' + (i % 2500), 'YYYY-MM-DD'),
    'tags', CASE WHEN i % 10 = 0 THEN 'vip, new' WHEN i % 7 = 0 THEN 'new' ELSE '' END)
FROM generate_series(1, :n) AS i
"""


def where(*conditions: Condition) -> Targeting:
    return Targeting(segment=Segment(conditions))


CITY = where(Condition("city", Op.equals, "city 7"))  # 2 % of the list
COUNTS = [
    ("age > 60 (number)", where(Condition("age", Op.greater, 60.0))),
    ("signed within 365 days (date)", where(Condition("signed", Op.within_days, 365))),
    ("tagged vip", where(Condition(TAGS, Op.has_tag, "vip"))),
    ("plan one of pro, team", where(Condition("plan", Op.one_of, ("pro", "team")))),
]
EVERYONE_MATCHES = where(Condition("age", Op.greater, 0.0))


async def best(action: Callable[[], Awaitable[object]], times: int = 3) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        await action()
        spent.append(time.perf_counter() - started)
    return min(spent)


async def fill(engine: AsyncEngine, size: int) -> int:
    async with engine.begin() as conn:
        await conn.execute(text(FILL), {"n": size})
        list_id = (
            await conn.execute(
                text(
                    "INSERT INTO recipient_lists (name, owner_id, source_kind, fields)"
                    ' VALUES (\'Big\', 1, \'file\', \'["age", "city", "plan", "signed"]\')'
                    " RETURNING id"
                )
            )
        ).scalar_one()
        await conn.execute(
            text("INSERT INTO list_members (list_id, address_id) SELECT :l, id FROM addresses"),
            {"l": list_id},
        )
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql("VACUUM ANALYZE addresses")
        await auto.exec_driver_sql("VACUUM ANALYZE list_members")
    return int(list_id)


async def count(uow_factory: UnitOfWorkFactory, list_id: int, targeting: Targeting | None) -> int:
    async with uow_factory() as uow:
        return (await uow.audiences.audience([list_id], EMAIL, targeting, TODAY)).reachable


async def counts(uow_factory: UnitOfWorkFactory, engine: AsyncEngine, list_id: int) -> None:
    plain = await best(lambda: count(uow_factory, list_id, None))
    print(f"count everyone (baseline): {plain:.3f} s")

    def line(label: str, spent: float, found: int) -> None:
        print(f"count {label}: {spent:.3f} s · {found:,} found · ratio {spent / plain:.2f}x")

    found = await count(uow_factory, list_id, CITY)
    line("city = (not indexed)", await best(lambda: count(uow_factory, list_id, CITY)), found)
    await SqlFieldIndexes(engine).ensure({"city"})
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql("ANALYZE addresses")
    line("city = (indexed)", await best(lambda: count(uow_factory, list_id, CITY)), found)
    for label, targeting in COUNTS:
        found = await count(uow_factory, list_id, targeting)
        spent = await best(lambda t=targeting: count(uow_factory, list_id, t))
        line(label, spent, found)


async def snapshots(uow_factory: UnitOfWorkFactory, engine: AsyncEngine, list_id: int) -> None:
    queue = SqlDeliveryQueue(engine)
    slot = 0

    async def snapshot(targeting: Targeting | None) -> tuple[float, int]:
        nonlocal slot
        slot += 1
        async with uow_factory() as uow:
            mailing = await uow.mailings.add(
                Mailing(owner_id=1, name=f"M{slot}", channel=Channel.email, list_ids=[list_id])
            )
            assert mailing.id is not None
            run = await uow.runs.add(
                MailingRun(
                    mailing_id=mailing.id,
                    scheduled_for=TODAY_AT,
                    status=RunStatus.paused,
                )
            )
            assert run is not None and run.id is not None
            await uow.commit()
        started = time.perf_counter()
        inserted = await queue.snapshot(run.id, [list_id], EMAIL, targeting, TODAY)
        spent = time.perf_counter() - started
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE deliveries"))
        async with engine.connect() as conn:  # the next one pays for no earlier WAL
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("CHECKPOINT")
        return spent, inserted

    # Interleaved, each after a checkpoint: run one after the other, the later kind paid
    # for the earlier ones' checkpoints (1.55x-1.68x for a condition whose scan costs
    # ~0.5 s of a ~8 s snapshot, EXPLAIN ANALYZE; the insert's index upkeep is the rest).
    plain, broad, narrow = [], [], []
    for _ in range(3):
        plain.append(await snapshot(None))
        broad.append(await snapshot(EVERYONE_MATCHES))
        narrow.append(await snapshot(CITY))
    base = min(s for s, _ in plain)
    print(f"snapshot plain (baseline): {base:.3f} s · {plain[0][1]:,} rows")
    for label, runs in (("age > 0 (all match)", broad), ("city = (2 %)", narrow)):
        spent = min(s for s, _ in runs)
        rows = runs[0][1]
        print(f"snapshot {label}: {spent:.3f} s · {rows:,} rows · ratio {spent / base:.2f}x")


async def main() -> None:
    args = bench_args(__doc__, "20,000 members instead of 1,000,000 (the test suite)")
    size = 20_000 if args.quick else 1_000_000
    url = await fresh_pg_database(args.pg_url, prefix="mailforge_bench")
    try:
        await upgrade(url)
        engine = create_engine(url)
        try:
            uow_factory = make_uow_factory(create_session_factory(engine))
            started = time.perf_counter()
            list_id = await fill(engine, size)
            print(f"list of {size:,} members made in {time.perf_counter() - started:.1f} s")
            await counts(uow_factory, engine, list_id)
            await snapshots(uow_factory, engine, list_id)
        finally:
            await engine.dispose()
    finally:
        await drop_database(url, args.pg_url)


if __name__ == "__main__":
    asyncio.run(main())
