"""Benchmark: uploaded workbooks read as the importer reads them, bombs included.

    .venv/bin/python bench/workbook.py            # the bomb, then 1,000,000 rows
    .venv/bin/python bench/workbook.py --quick    # the bomb, then 100,000 rows (the suite)

For each file: the sheet list (``SqlRecipientImporter.sheet_names``, off the event loop)
and every row of the first sheet (``open_table``, in a worker thread as an import reads
it), with the time taken, the peak RSS of this process and the longest the event loop
was stalled (what the bot's other chats would wait). The files are

1. the attacker's bomb of issue 17: 208 KB whose shared strings table unpacks to 5
   million one-letter entries (85 MB of XML; openpyxl alone took half a minute and 460 MB
   for it) — refused before it is parsed;
2. a workbook as Excel writes it, every address a distinct shared string.

No database is used (``--pg-url`` is accepted and ignored, like the other benches').
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.args import bench_args
from bench.loop import LoopLag
from bench.memory import RssSampler
from domain.errors import DomainError
from domain.imports import ImportSource
from infrastructure.db import create_engine
from infrastructure.importers import SqlRecipientImporter
from infrastructure.importers.tables import open_table
from tests.unit.importers.files import shared_strings_bomb, shared_strings_book

MB = 1024 * 1024


def count_rows(source: ImportSource) -> int:
    with open_table(source) as table:
        return sum(1 for _ in table.rows)


async def measure(label: str, path: Path, size: int, importer: SqlRecipientImporter) -> None:
    sampler, lag = RssSampler(interval=0.005), LoopLag()
    source = ImportSource(path, "upload.xlsx")
    before = sampler.sample()
    ticker = asyncio.create_task(lag.run())
    outcome = ""
    started = time.perf_counter()
    with sampler.running():
        try:
            sheets = await importer.sheet_names(source)
            listed = time.perf_counter() - started
            rows = await asyncio.to_thread(count_rows, source)
            outcome = f"sheets {sheets} in {listed:.2f} s; {rows:,} rows read"
        except DomainError as error:
            outcome = f"refused ({error.key}, {error.params.get('ratio', '-')}x)"
    elapsed = time.perf_counter() - started
    ticker.cancel()
    print(
        f"{label} ({size / 1024:,.0f} KB): {outcome} in {elapsed:.2f} s; "
        f"peak RSS {sampler.peak / MB:.0f} MB (before {before / MB:.0f} MB, "
        f"+{(sampler.peak - before) / MB:.0f} MB); "
        f"longest event-loop stall {lag.worst * 1000:.0f} ms"
    )


async def bench(files: list[tuple[str, Path, int]]) -> None:
    engine = create_engine("sqlite+aiosqlite://")  # never connected: sheet_names only
    importer = SqlRecipientImporter(engine)
    for label, path, size in files:
        await measure(label, path, size, importer)
    await engine.dispose()


def main() -> None:
    args = bench_args(__doc__, "the bomb, then 100,000 rows")
    rows = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="mailforge-bench-") as tmp:
        bomb = shared_strings_bomb(Path(tmp) / "bomb.xlsx")
        book = shared_strings_book(Path(tmp) / "book.xlsx", rows + 1, rows, unique=True)
        files = [
            ("workbook bomb, 5,000,000 shared strings", bomb, bomb.stat().st_size),
            (f"workbook of {rows:,} rows, each a shared string", book, book.stat().st_size),
        ]
        asyncio.run(bench(files))


if __name__ == "__main__":
    main()
