"""Benchmark: the deliveries table at scale on PostgreSQL, and the retention job.

    .venv/bin/python bench/scale.py            # 10,000,000 rows across 100 runs
    .venv/bin/python bench/scale.py --quick    # 100,000 rows across 10 runs (the test suite)

Creates a fresh database on the server of ``--pg-url`` (or ``BENCH_PG_URL``), migrates it
and measures, with the real ``SqlDeliveryQueue`` and use cases:

1. on an empty ``deliveries`` table: a fresh running run of a few thousand recipients
   (snapshotted by ``queue.snapshot``), then many times: claim a batch
   (``queue.claim``), write its results (``queue.complete``) and open the run's
   statistics (``open_stats``: ``stats.run_report`` and ``stats.run_history``, as the bot
   does); p50 and p95 of each;
2. the table filled with finished runs (one set-based ``INSERT … SELECT generate_series``
   per run; the fill time is printed), vacuumed and checkpointed (``settle``), then the
   same measurements on a new running run, printed side by side with the empty table;
3. the retention job (``purge_deliveries`` with ``SqlDeliveryRetention``, 10,000 rows per
   transaction) deleting the rows of the ~95 % of runs that finished long ago, while a
   sender keeps claiming and completing batches of another running run: the purge's run
   time and rows/s, and the sender's claim latency (p50, p95, max) during the purge next
   to the same sender without a purge;
4. the measurements of 1. once more after the purge.

Drops its database at the end, even after a failure.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.args import bench_args
from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.mailings import Channel, Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind, RecipientList
from domain.runs import MailingRun, RunStatus, RunTotals
from domain.usecases import roles, stats
from domain.usecases.retention import purge_deliveries
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.repositories import SqlStatsReader
from infrastructure.db.retention import SqlDeliveryRetention
from tests.support.db import drop_database, fresh_pg_database

ADMIN = 1001
BATCH = 100  # a mid-size claim: workers size theirs between 20 and DELIVERY_BATCH_SIZE
RETENTION_DAYS = 180
NOW = datetime.now(UTC)
# Rows cycle through retry with no delay, so a small run keeps a sender busy for ever.
CYCLE = RetryPolicy(max_attempts=10**9, base=timedelta(0), cap=timedelta(0))


@dataclass(frozen=True)
class Sizes:
    runs: int
    rows_per_run: int
    active: int  # recipients of each running run that is measured
    samples: int  # claim / complete / stats rounds per measurement
    baseline_seconds: float  # the sender alone, before the purge


QUICK = Sizes(10, 10_000, 2_000, 20, 1.0)
FULL = Sizes(100, 100_000, 20_000, 200, 5.0)


@dataclass
class Bench:
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    queue: SqlDeliveryQueue
    stats: SqlStatsReader
    mailing_id: int
    list_id: int
    slots: int = 0

    def next_slot(self) -> datetime:
        self.slots += 1
        return NOW - timedelta(days=400) + timedelta(minutes=self.slots)


# -- set-up --------------------------------------------------------------------------------


async def prepare(engine: AsyncEngine, sizes: Sizes) -> Bench:
    """One recurring mailing (every run belongs to it) and a list of ``active`` addresses."""
    uow_factory = make_uow_factory(create_session_factory(engine))
    await roles.ensure_admins(uow_factory, [ADMIN])  # the statistics check who asks
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(name="scale", owner_id=ADMIN))
        assert rlist.id is not None
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=ADMIN,
                name="weekly",
                channel=Channel.email,
                body="Hello",
                list_ids=[rlist.id],
            )
        )
        await uow.commit()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "WITH a AS (INSERT INTO addresses (kind, value)"
                " SELECT 'email', 'user' || g || '@scale.test'"
                " FROM generate_series(1, CAST(:n AS BIGINT)) AS g"
                " RETURNING id)"
                " INSERT INTO list_members (list_id, address_id)"
                " SELECT CAST(:list_id AS BIGINT), id FROM a"
            ),
            {"n": sizes.active, "list_id": rlist.id},
        )
    assert mailing.id is not None
    return Bench(
        engine, uow_factory, SqlDeliveryQueue(engine), SqlStatsReader(engine), mailing.id, rlist.id
    )


async def add_run(bench: Bench, status: RunStatus, finished_at: datetime | None) -> int:
    slot = bench.next_slot()
    async with bench.uow_factory() as uow:
        run = await uow.runs.add(
            MailingRun(
                mailing_id=bench.mailing_id,
                scheduled_for=slot,
                status=status,
                started_at=slot,
                finished_at=finished_at,
                content={"channel": "email"},
            )
        )
        await uow.commit()
    assert run is not None and run.id is not None
    return run.id


async def running_run(bench: Bench) -> int:
    """A running run of the list's addresses, snapshotted by the real queue."""
    run_id = await add_run(bench, RunStatus.paused, None)
    await bench.queue.snapshot(run_id, [bench.list_id], [AddressKind.email])
    await set_status(bench, run_id, RunStatus.running)
    return run_id


async def set_status(bench: Bench, run_id: int, status: RunStatus) -> None:
    async with bench.uow_factory() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        run.status = status
        if status is not RunStatus.running:
            run.finished_at = datetime.now(UTC)
        await uow.runs.update(run)
        await uow.commit()


async def fill(bench: Bench, sizes: Sizes) -> tuple[int, float]:
    """Finished runs of ``rows_per_run`` rows each, one ``INSERT … SELECT`` per run; all but
    one in twenty finished before the retention age. Returns the rows and the seconds."""
    n = sizes.rows_per_run
    failed, refused = n // 50, n // 97 - n // 4850  # as the CASE below decides
    totals = RunTotals(delivered=n - failed - refused, failed=failed, refused=refused)
    recent_every = 20
    started = time.perf_counter()
    for i in range(sizes.runs):
        age = timedelta(days=5 if i % recent_every == 0 else RETENTION_DAYS + 30)
        run_id = await add_run(bench, RunStatus.completed, NOW - age)
        async with bench.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO deliveries (run_id, address_id, status, attempts, updated_at)"
                    " SELECT CAST(:run_id AS BIGINT), g, CASE WHEN g % 50 = 0 THEN 'failed'"
                    " WHEN g % 97 = 0 THEN 'refused' ELSE 'delivered' END,"
                    " 1, CAST(:at AS TIMESTAMPTZ)"
                    " FROM generate_series(1, CAST(:n AS BIGINT)) AS g"
                ),
                {"run_id": run_id, "n": n, "at": NOW - age},
            )
            await conn.execute(
                text(
                    "UPDATE mailing_runs SET delivered = :d, failed = :f, refused = :r"
                    " WHERE id = :run_id"
                ),
                {"d": totals.delivered, "f": totals.failed, "r": totals.refused, "run_id": run_id},
            )
        if (i + 1) % max(1, sizes.runs // 10) == 0:
            print(f"  filled {i + 1} of {sizes.runs} runs", flush=True)
    return sizes.runs * n, time.perf_counter() - started


async def settle(engine: AsyncEngine) -> float:
    """VACUUM ANALYZE and a checkpoint after the bulk load, as months of growth would have
    had: otherwise the measurements pay for the load's pending writes (every commit waits
    on a disk busy with the checkpoint and the first autovacuum), not for the table's size."""
    started = time.perf_counter()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE deliveries"))
        await conn.execute(text("VACUUM ANALYZE mailing_runs"))
        try:
            await conn.execute(text("CHECKPOINT"))  # needs a superuser (or pg_checkpoint)
        except DBAPIError:
            print("  (no CHECKPOINT: the bench's user may not run it)")
    return time.perf_counter() - started


async def table_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT COUNT(*) FROM deliveries"))).scalar_one())


# -- measurements --------------------------------------------------------------------------


async def open_stats(bench: Bench, run_id: int) -> None:
    """What the bot reads when a manager opens a run's statistics: the report (totals,
    rate per minute, top failure reasons) and the first page of the run history."""
    report = await stats.run_report(
        bench.uow_factory, bench.stats, ADMIN, bench.mailing_id, run_id
    )
    assert report.run.id == run_id
    await stats.run_history(bench.uow_factory, bench.stats, ADMIN, bench.mailing_id)


@dataclass
class Timings:
    claim: list[float]
    complete: list[float]
    stats: list[float]


async def timed(call: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def measure(bench: Bench, sizes: Sizes) -> Timings:
    run_id = await running_run(bench)
    found = Timings([], [], [])
    for _ in range(sizes.samples):
        took, batch = await timed(lambda: bench.queue.claim(BATCH, datetime.now(UTC)))
        assert isinstance(batch, list) and batch, "the measured run ran out of rows"
        found.claim.append(took)
        results = [SendResult(o.delivery_id, Outcome.retry) for o in batch]
        took, _ = await timed(
            lambda rs=results: bench.queue.complete(rs, datetime.now(UTC), CYCLE)  # type: ignore[misc]
        )
        found.complete.append(took)
        took, _ = await timed(lambda: open_stats(bench, run_id))
        found.stats.append(took)
    await set_status(bench, run_id, RunStatus.cancelled)
    return found


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def cell(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:6.1f} ms · p95 {pct(values, 95) * 1000:6.1f} ms"


def print_side_by_side(columns: list[tuple[str, Timings]]) -> None:
    width = 34
    print(f"{'':24}" + "".join(f"{name:>{width}}" for name, _ in columns))
    for label, pick in (
        (f"claim a batch ({BATCH})", lambda t: t.claim),
        ("write a batch's results", lambda t: t.complete),
        ("open a run's statistics", lambda t: t.stats),
    ):
        print(f"{label:24}" + "".join(f"{cell(pick(t)):>{width}}" for _, t in columns))


# -- retention while sending ---------------------------------------------------------------


async def sender(bench: Bench, run_id: int, stop: asyncio.Event, claims: list[float]) -> int:
    """Claims and completes batches of ``run_id`` until stopped; how many rows it sent."""
    sent = 0
    while not stop.is_set():
        took, batch = await timed(lambda: bench.queue.claim(BATCH, datetime.now(UTC)))
        assert isinstance(batch, list)
        claims.append(took)
        results = [SendResult(o.delivery_id, Outcome.retry) for o in batch]
        await bench.queue.complete(results, datetime.now(UTC), CYCLE)
        sent += len(batch)
        await asyncio.sleep(0.005)  # a channel takes some time to send
    return sent


async def purge_while_sending(bench: Bench, sizes: Sizes) -> None:
    run_id = await running_run(bench)
    before = await table_rows(bench.engine)

    alone: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(sender(bench, run_id, stop, alone))
    await asyncio.sleep(sizes.baseline_seconds)
    stop.set()
    await task

    during: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(sender(bench, run_id, stop, during))
    started = time.perf_counter()
    purged = await purge_deliveries(
        bench.uow_factory, SqlDeliveryRetention(bench.engine), days=RETENTION_DAYS
    )
    elapsed = time.perf_counter() - started
    stop.set()
    sent = await task
    await set_status(bench, run_id, RunStatus.cancelled)

    share = purged.rows / before if before else 0.0
    print(
        f"retention: {purged.rows:,} of {before:,} rows ({share:.0%}) of {purged.runs} runs "
        f"deleted in {elapsed:.1f} s ({purged.rows / elapsed:,.0f} rows/s, 10,000 per transaction)"
    )
    print(
        f"sender during the purge: {len(during):,} claims ({sent:,} rows), claim "
        f"p50 {pct(during, 50) * 1000:.1f} ms · p95 {pct(during, 95) * 1000:.1f} ms · "
        f"max {max(during) * 1000:.1f} ms; alone: p50 {pct(alone, 50) * 1000:.1f} ms · "
        f"p95 {pct(alone, 95) * 1000:.1f} ms · max {max(alone) * 1000:.1f} ms "
        f"over {len(alone):,} claims"
    )


# -- main ----------------------------------------------------------------------------------


async def bench_scale(sizes: Sizes, server_url: str) -> None:
    url = await fresh_pg_database(server_url, prefix="mailforge_bench_scale")
    try:
        await upgrade(url)
        engine = create_engine(url)
        try:
            bench = await prepare(engine, sizes)
            empty = await measure(bench, sizes)
            rows, took = await fill(bench, sizes)
            print(
                f"fill: {rows:,} delivery rows across {sizes.runs} runs in {took:.1f} s "
                f"({rows / took:,.0f} rows/s, INSERT … SELECT generate_series per run)"
            )
            print(f"settle: VACUUM ANALYZE and CHECKPOINT in {await settle(engine):.1f} s")
            full = await measure(bench, sizes)
            await purge_while_sending(bench, sizes)
            after = await measure(bench, sizes)
            print(f"table: {await table_rows(engine):,} rows left after the purge")
            print_side_by_side(
                [("empty table", empty), (f"{rows:,} rows", full), ("after the purge", after)]
            )
        finally:
            await engine.dispose()
    finally:
        await drop_database(url, server_url)


def main() -> None:
    args = bench_args(__doc__, "100,000 rows across 10 runs (the test suite)")
    asyncio.run(bench_scale(QUICK if args.quick else FULL, args.pg_url))


if __name__ == "__main__":
    main()
