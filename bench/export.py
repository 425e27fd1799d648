"""Benchmark: a run's statistics and its per-recipient report (CSV, XLSX) on PostgreSQL.

    .venv/bin/python bench/export.py            # runs of 100,000 then 1,000,000 recipients
    .venv/bin/python bench/export.py --quick    # 20,000 (the test suite)

Creates a fresh database on the server of ``--pg-url`` (or ``BENCH_PG_URL``), fills a run
with set-based SQL (95 % delivered, 5 % failed, 2 % refused, with reasons; one
``run_minutes`` row per 500 recipients), then prints: the time to open the run's
statistics (``stats.run_report``); for each format, the export through ``stats.export_run``
(rows/s, file size, growth of the peak RSS of this process, longest event-loop stall);
and the baseline: the same rows fetched at once with bare asyncpg and written with
``csv``, measured in the same run. Drops its database at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loop import LoopLag
from bench.memory import RssSampler
from domain.mailings import Channel, Mailing
from domain.runs import MailingRun, RunStatus
from domain.stats import ExportFormat
from domain.usecases import stats
from domain.users import Role, User
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.db.repositories import SqlStatsReader
from infrastructure.reports import open_report_writer
from tests.support.db import drop_database, fresh_pg_database

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
MB = 1024 * 1024
ADMIN = 1

FILL = [
    "INSERT INTO addresses (kind, value, attributes)"
    " SELECT 'email', :prefix || i || '@example.com', '{}' FROM generate_series(1, :n) AS i",
    "INSERT INTO deliveries (run_id, address_id, status, attempts, last_error)"
    " SELECT :run_id, a.id, CASE WHEN a.id % 20 = 0 THEN 'failed'"
    "   WHEN a.id % 50 = 1 THEN 'refused' ELSE 'delivered' END, 1,"
    " CASE WHEN a.id % 20 = 0 THEN '421 try again later' WHEN a.id % 50 = 1"
    "   THEN '550 no such user' END"
    " FROM addresses AS a WHERE a.value LIKE :prefix || '%' ORDER BY a.id",
    "UPDATE mailing_runs AS r SET delivered = c.delivered, failed = c.failed,"
    " refused = c.refused FROM (SELECT count(*) FILTER (WHERE status = 'delivered') AS delivered,"
    " count(*) FILTER (WHERE status = 'failed') AS failed,"
    " count(*) FILTER (WHERE status = 'refused') AS refused"
    " FROM deliveries WHERE run_id = :run_id) AS c WHERE r.id = :run_id",
    "INSERT INTO run_minutes (run_id, minute, channel, delivered, failed, refused)"
    " SELECT :run_id, now() - make_interval(mins => m), 'email', 450, 25, 10"
    " FROM generate_series(1, greatest(:n / 500, 1)) AS m",
]

BARE_QUERY = """
SELECT a.value, m.channel, d.status, d.attempts, d.last_error, d.updated_at
FROM deliveries AS d JOIN addresses AS a ON a.id = d.address_id
JOIN mailing_runs AS r ON r.id = d.run_id JOIN mailings AS m ON m.id = r.mailing_id
WHERE d.run_id = $1 ORDER BY d.id
"""


async def fill(url: str, size: int) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        uow_factory = make_uow_factory(create_session_factory(engine))
        async with uow_factory() as uow:
            if await uow.users.get(ADMIN) is None:
                await uow.users.add(User(ADMIN, role=Role.admin))
            mailing = await uow.mailings.add(Mailing(ADMIN, f"Bench {size}", Channel.email))
            assert mailing.id is not None
            run = await uow.runs.add(
                MailingRun(mailing.id, scheduled_for=_now(), status=RunStatus.completed)
            )
            assert run is not None and run.id is not None
            await uow.commit()
        async with engine.begin() as conn:
            params = {"prefix": f"r{size}-", "n": size, "run_id": run.id}
            for statement in FILL:
                await conn.execute(text(statement), params)
            await conn.execute(text("ANALYZE"))
        return mailing.id, run.id
    finally:
        await engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


async def open_stats(url: str, mailing_id: int, run_id: int) -> float:
    engine = create_engine(url)
    try:
        uow_factory = make_uow_factory(create_session_factory(engine))
        reader = SqlStatsReader(engine)
        await stats.run_report(uow_factory, reader, ADMIN, mailing_id, run_id)  # warm the caches
        started = time.perf_counter()
        report = await stats.run_report(uow_factory, reader, ADMIN, mailing_id, run_id)
        elapsed = time.perf_counter() - started
        assert report.reasons and not report.details_removed
        return elapsed
    finally:
        await engine.dispose()


async def export(
    url: str, ids: tuple[int, int], fmt: ExportFormat, dest: Path, sampler: RssSampler
) -> tuple[float, int, int, float]:
    """Seconds, rows, RSS growth in bytes, worst event-loop stall in seconds."""
    engine = create_engine(url)
    try:
        uow_factory = make_uow_factory(create_session_factory(engine))
        reader = SqlStatsReader(engine)
        before = sampler.sample()
        lag = LoopLag()
        ticker = asyncio.create_task(lag.run())
        try:
            with sampler.running():
                started = time.perf_counter()
                rows = await stats.export_run(
                    uow_factory,
                    reader,
                    open_report_writer,
                    actor_id=ADMIN,
                    mailing_id=ids[0],
                    run_id=ids[1],
                    fmt=fmt,
                    dest=dest,
                )
                elapsed = time.perf_counter() - started
        finally:
            ticker.cancel()
        return elapsed, rows, sampler.peak - before, lag.worst
    finally:
        await engine.dispose()


async def bare(url: str, run_id: int, dest: Path, sampler: RssSampler) -> tuple[float, int]:
    """The baseline: every row fetched at once by asyncpg, then written with ``csv``."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        before = sampler.sample()
        with sampler.running():
            started = time.perf_counter()
            records = await connection.fetch(BARE_QUERY, run_id)
            with dest.open("w", newline="", encoding="utf-8") as file:
                csv.writer(file).writerows(tuple(record) for record in records)
            elapsed = time.perf_counter() - started
            sampler.sample()
        del records
        return elapsed, sampler.peak - before
    finally:
        await connection.close()


async def bench(sizes: list[int], server_url: str) -> None:
    sampler = RssSampler(interval=0.01)
    url = await fresh_pg_database(server_url, prefix="mailforge_bench")
    try:
        await upgrade(url)
        with tempfile.TemporaryDirectory(prefix="mailforge-bench-") as tmp:
            for size in sizes:
                ids = await fill(url, size)
                opened = await open_stats(url, *ids)
                print(f"stats of a {size:,}-recipient run: opened in {opened * 1000:.0f} ms")
                results = {}
                for fmt in ExportFormat:
                    dest = Path(tmp) / f"run-{size}.{fmt.value}"
                    elapsed, rows, grown, stall = await export(url, ids, fmt, dest, sampler)
                    results[fmt] = elapsed
                    print(
                        f"export {fmt.value} {rows:,} rows: {elapsed:.2f} s, "
                        f"{rows / elapsed:,.0f} rows/s, file {dest.stat().st_size / MB:.1f} MB, "
                        f"peak RSS +{grown / MB:.0f} MB, longest event-loop stall "
                        f"{stall * 1000:.0f} ms"
                    )
                    dest.unlink()
                baseline, grown = await bare(url, ids[1], Path(tmp) / "bare.csv", sampler)
                csv_ratio = results[ExportFormat.csv] / baseline
                xlsx_ratio = results[ExportFormat.xlsx] / baseline
                print(
                    f"bare fetch-all + csv {size:,} rows: {baseline:.2f} s, "
                    f"peak RSS +{grown / MB:.0f} MB; ratio csv {csv_ratio:.1f}x, "
                    f"xlsx {xlsx_ratio:.1f}x"
                )
    finally:
        await drop_database(url, server_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 20,000-recipient run")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    args = parser.parse_args()
    sizes = [20_000] if args.quick else [100_000, 1_000_000]
    asyncio.run(bench(sizes, args.pg_url))


if __name__ == "__main__":
    main()
