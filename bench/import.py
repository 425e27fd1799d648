"""Benchmark: importing a recipient CSV into a list on PostgreSQL, as a chat upload would.

    .venv/bin/python bench/import.py            # 100,000 then 1,000,000 rows
    .venv/bin/python bench/import.py --quick    # 2,000 then 20,000 rows (the test suite)
    .venv/bin/python bench/import.py --sizes 1000000 --phases   # and where the time goes

Creates a fresh database on the server of ``--pg-url`` (or ``BENCH_PG_URL``), migrates
it, imports generated files (email, name, city; about 1 % repeated rows and 0.5 % bad
addresses) through ``SqlRecipientImporter`` and prints rows/s, the peak RSS of this process
during each import, and the ratio of the import's time to a bare asyncpg ``COPY`` of the
same rows into a plain table, measured in the same run, and the longest the event loop
was stalled (what other chats of the bot would wait). Then, as the mailing dialog does
when the manager ticks the imported list, the list's size and its reachable count (issue
15, point 7: at most 1 s on 1,000,000 members right after the import), the first time
and the best of three. Then "Update from source": the same file again with every
fiftieth row gone, as a re-import (``ImportSource.sync``), which marks the members gone
from the source in its transaction; its time is printed beside the first import's.
Drops its database at the end.

"floor" is the least the server must do to store the file's new members in this schema,
measured in the same run: the unique rows, staged and with their attributes built, written
into empty copies of ``addresses`` and ``list_members`` (indexes and the count trigger
included). An import cannot be faster than the bare ``COPY`` plus that; the ratio it
prints is that bound. ``--phases`` prints each import's time per statement
(``bench/phases.py``): wall, this process's CPU and the PostgreSQL backend's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.args import bench_args
from bench.loop import LoopLag
from bench.memory import RssSampler
from bench.phases import backend_cpu, traced
from domain.imports import ImportReport, ImportSource
from domain.recipients import AddressKind, RecipientList
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.importers import SqlRecipientImporter
from tests.support.db import drop_database, fresh_pg_database

NAMES = ["Иван Петров", "Мария Сидорова", "John Smith", "Анна-Мария Ким", "Олег", ""]
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Berlin", "Новосибирск", ""]
DOMAINS = ["mail.ru", "Yandex.RU", "gmail.com", "example.org", "почта.рф"]
MB = 1024 * 1024


def write_csv(path: Path, rows: int, prefix: str) -> None:
    """Streams rows to disk, so generating a big file costs this process no memory."""
    rng = random.Random(rows)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Email", "Имя", "Город"])
        for i in range(rows):
            if i % 200 == 199:
                email = f"broken-{i}@"
            elif i % 100 == 99:
                email = f"{prefix}{i - 50}@{DOMAINS[(i - 50) % len(DOMAINS)]}"  # a repeat
            else:
                email = f"{prefix}{i}@{DOMAINS[i % len(DOMAINS)]}"
            writer.writerow([email, rng.choice(NAMES), rng.choice(CITIES)])


async def run_import(
    url: str,
    path: Path,
    sampler: RssSampler,
    lag: LoopLag,
    list_id: int | None = None,
    phases: bool = False,
) -> tuple[float, ImportReport, int]:
    """Into a new list, or (``list_id``) into that list again from its source (sync)."""
    engine = create_engine(url)
    try:
        uow_factory = make_uow_factory(create_session_factory(engine))
        if list_id is None:
            async with uow_factory() as uow:
                rlist = await uow.lists.add(RecipientList(name=path.stem, owner_id=1))
                await uow.commit()
            list_id = rlist.id
        assert list_id is not None

        async def progress(rows: int) -> None:
            sampler.sample()

        importer = SqlRecipientImporter(engine)
        ticker = asyncio.create_task(lag.run())
        try:
            with sampler.running(), traced(engine) if phases else nullcontext() as log:
                started = time.perf_counter()
                source = ImportSource(path, path.name, sync=path.stem.endswith("-again"))
                report = await importer.import_file(list_id, source, progress)
                elapsed = time.perf_counter() - started
        finally:
            ticker.cancel()
        if log is not None:
            print("\n".join(log.lines()))
        return elapsed, report, list_id
    finally:
        await engine.dispose()


def thinned(path: Path) -> Path:
    """``path`` without every fiftieth data row, as ``<stem>-again.csv``."""
    again = path.with_name(f"{path.stem}-again.csv")
    with path.open(encoding="utf-8") as source, again.open("w", encoding="utf-8") as target:
        for index, line in enumerate(source):
            if index == 0 or index % 50:
                target.write(line)
    return again


async def dialog_count(url: str, list_id: int) -> tuple[float, float, int]:
    """The seconds the lists step of the mailing dialog spends counting a ticked list (its
    size on the button, its reachable emails in the text): the first time, then the best
    of three; and the reachable count."""
    engine = create_engine(url)
    try:
        uow_factory = make_uow_factory(create_session_factory(engine))
        spent: list[float] = []
        reachable = 0
        for _ in range(3):
            started = time.perf_counter()
            async with uow_factory() as uow:
                await uow.members.size(list_id)
                audience = await uow.audiences.audience([list_id], [AddressKind.email])
            spent.append(time.perf_counter() - started)
            reachable = audience.reachable
        return spent[0], min(spent), reachable
    finally:
        await engine.dispose()


async def bare_copy(url: str, path: Path) -> float:
    """The baseline: the same rows, read with ``csv`` and copied as they are."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE TABLE bench_plain (email text, name text, city text)")
        started = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as file:
            reader = csv.reader(file)
            next(reader)
            await connection.copy_records_to_table(
                "bench_plain", records=(tuple(row) for row in reader)
            )
        elapsed = time.perf_counter() - started
        await connection.execute("DROP TABLE bench_plain")
        return elapsed
    finally:
        await connection.close()


# The minimum of an import's work on the server: its unique rows, already staged and with
# their attributes built, written into empty copies of the two tables an import fills, with
# their indexes and list_members' count trigger (which skips, as for the importer).
FLOOR = [
    "CREATE TEMP TABLE bench_unique AS SELECT a.kind, a.value, a.attributes"
    " FROM addresses a JOIN list_members m ON m.address_id = a.id WHERE m.list_id = $1",
    "CREATE TABLE bench_addresses (LIKE addresses INCLUDING ALL)",
    "CREATE TABLE bench_members (LIKE list_members INCLUDING ALL)",
    """CREATE TRIGGER bench_count_added AFTER INSERT ON bench_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    WHEN (current_setting('mailforge.members_counted', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION mailforge_count_members_added()""",
]
FLOOR_STORE = """
    WITH new AS (
        INSERT INTO bench_addresses (kind, value, attributes)
        SELECT kind, value, attributes FROM bench_unique
        ORDER BY value COLLATE "C", kind COLLATE "C" RETURNING id
    )
    INSERT INTO bench_members (list_id, address_id) SELECT 1, id FROM new
"""


async def schema_floor(url: str, list_id: int) -> tuple[float, float]:
    """What storing the list's members costs at the least in this schema (``FLOOR``), and
    the server's CPU for it: seconds, from the start of the statement to the commit."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        for statement in FLOOR:
            await connection.execute(statement, *([list_id] if "$1" in statement else []))
        await connection.execute("ANALYZE bench_unique")
        pid = connection.get_server_pid()
        cpu, started = backend_cpu(pid), time.perf_counter()
        async with connection.transaction():
            await connection.execute("SET LOCAL mailforge.members_counted = 'on'")
            await connection.execute(FLOOR_STORE)
        elapsed, cpu = time.perf_counter() - started, backend_cpu(pid) - cpu
        await connection.execute("DROP TABLE bench_members, bench_addresses, bench_unique")
        return elapsed, cpu
    finally:
        await connection.close()


async def bench(sizes: list[int], server_url: str, *, phases: bool = False) -> None:
    sampler = RssSampler(interval=0.01)
    url = await fresh_pg_database(server_url, prefix="mailforge_bench")
    try:
        await upgrade(url)
        with tempfile.TemporaryDirectory(prefix="mailforge-bench-") as tmp:
            for size in sizes:
                path = Path(tmp) / f"recipients-{size}.csv"
                write_csv(path, size, prefix=f"user{size}-")
                before = sampler.sample()
                lag = LoopLag()
                elapsed, report, list_id = await run_import(url, path, sampler, lag, phases=phases)
                first, best, reachable = await dialog_count(url, list_id)
                baseline = await bare_copy(url, path)
                floor, floor_cpu = await schema_floor(url, list_id)
                print(
                    f"import {size:,} rows: {elapsed:.2f} s, {size / elapsed:,.0f} rows/s; "
                    f"peak RSS {sampler.peak / MB:.0f} MB (before {before / MB:.0f} MB); "
                    f"bare COPY {baseline:.2f} s ({size / baseline:,.0f} rows/s), "
                    f"ratio {elapsed / baseline:.1f}x"
                )
                print(
                    f"  report: added {report.added:,}, duplicates {report.duplicates:,}, "
                    f"invalid {report.invalid:,}, attributes {report.attributes}; "
                    f"longest event-loop stall {lag.worst * 1000:.0f} ms"
                )
                print(
                    f"  dialog count of the list ({reachable:,} reachable): "
                    f"first {first:.3f} s, best of 3 {best:.3f} s"
                )
                print(
                    f"  floor: the {report.added:,} new members stored into empty copies of "
                    f"addresses and list_members: {floor:.2f} s (server CPU {floor_cpu:.2f} s); "
                    f"bare COPY + that = ratio {(baseline + floor) / baseline:.1f}x at best "
                    "in this schema"
                )
                again = thinned(path)
                resync, report, _ = await run_import(
                    url, again, sampler, LoopLag(), list_id, phases=phases
                )
                print(
                    f"  update from source (every 50th row gone): {resync:.2f} s "
                    f"({resync / elapsed:.1f}x the first import); marked gone {report.gone:,}"
                )
    finally:
        await drop_database(url, server_url)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--phases",
        action="store_true",
        help="print each import's time per statement: wall, this process's CPU, the server's",
    )
    parser.add_argument("--sizes", type=int, nargs="+", help="rows of each file")


def main() -> None:
    args = bench_args(__doc__, "about 20,000 rows", _options)
    sizes = args.sizes or ([2_000, 20_000] if args.quick else [100_000, 1_000_000])
    asyncio.run(bench(sizes, args.pg_url, phases=args.phases))


if __name__ == "__main__":
    main()
