"""``SqlRecipientImporter``: a file of recipients into a list, all or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, aclosing
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import DomainError
from domain.imports import REPORT_SAMPLE_SIZE, ImportReport, ImportSource, ProgressCallback
from domain.recipients import AddressKind
from infrastructure.db import statistics
from infrastructure.importers.postgres import store_postgres
from infrastructure.importers.rejected import RejectedLog
from infrastructure.importers.rows import RecipientReader, Record
from infrastructure.importers.sniff import FileKind, sniff
from infrastructure.importers.sql import Counts
from infrastructure.importers.sqlite import store_sqlite
from infrastructure.importers.tables import open_table
from infrastructure.importers.workbook import PACKAGE_LIMITS
from infrastructure.importers.xlsx import sheet_names

# Rows per staging batch, and how often progress is reported. Each costs memory while it
# is read and while it is copied: a million-row import peaked at 96 MB with 10,000 (the
# bound is 100 MB), 88-89 MB with 5,000, at the same speed (bench/import.py).
BATCH_ROWS = 5_000


class SqlRecipientImporter:
    """``domain.ports.imports.RecipientImporter`` on PostgreSQL (``COPY``) and SQLite.

    Runs its own transaction on its own connection of ``engine``. Rejected rows go to
    ``<rejected_dir or the file's folder>/<file stem>.rejected.csv``; the caller removes it.
    ``import-all-invalid`` carries the whole report as ``error.params["report"]`` (its
    sample and ``rejected_file`` explain why), next to ``rows`` and ``invalid``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        rejected_dir: Path | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self._engine = engine
        self._rejected_dir = rejected_dir
        self._batch_rows = batch_rows

    async def import_file(
        self, list_id: int, source: ImportSource, progress: ProgressCallback | None = None
    ) -> ImportReport:
        path = self._rejected_path(source)
        rejected = RejectedLog(path, REPORT_SAMPLE_SIZE, source.labels)
        try:
            return await self._import(list_id, source, progress, rejected)
        except DomainError as error:
            if error.key != "import-all-invalid":
                rejected.discard()
            raise
        except BaseException:
            rejected.discard()
            raise

    async def sheet_names(self, source: ImportSource) -> list[str]:
        """The worksheets of an XLSX file; ``[]`` for other files, and for broken ones
        (``import_file`` then says what is wrong with them). A workbook over the package
        limits is refused here already. Read in a worker thread, like every parse."""
        return await asyncio.to_thread(self._sheet_names, source)

    @staticmethod
    def _sheet_names(source: ImportSource) -> list[str]:
        try:
            if sniff(source.path, source.filename) is FileKind.xlsx:
                return sheet_names(source.path, source.filename)
        except DomainError as error:
            if error.key in PACKAGE_LIMITS:
                raise
        return []

    async def _import(
        self,
        list_id: int,
        source: ImportSource,
        progress: ProgressCallback | None,
        rejected: RejectedLog,
    ) -> ImportReport:
        # File work runs in a worker thread, a batch at a time: the bot's event loop keeps
        # serving other chats while a big file is checked and parsed (the GIL still lets
        # it in every few milliseconds).
        async with AsyncExitStack() as files:
            table = await asyncio.to_thread(files.enter_context, open_table(source))
            reader = await asyncio.to_thread(
                RecipientReader, table.rows, table.delimiter, rejected
            )
            batches = await files.enter_async_context(
                aclosing(self._batches(reader, rejected, progress))
            )
            async with self._engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    async with conn.begin():
                        counts = await store_postgres(
                            conn, list_id, reader.attributes, batches, sync=source.sync
                        )
                else:
                    counts = await store_sqlite(
                        conn, list_id, reader.attributes, batches, sync=source.sync
                    )
        # Before anyone counts or launches to the list (statistics.py explains).
        written = counts.unique - counts.already_there
        await statistics.refresh_after(
            self._engine, {"addresses": written, "list_members": written}
        )
        return self._report(reader, rejected, counts)

    async def _batches(
        self, reader: RecipientReader, rejected: RejectedLog, progress: ProgressCallback | None
    ) -> AsyncGenerator[list[Record], None]:
        """The staged records; raising here (progress included) aborts the whole import.

        The next batch is read and checked in the worker thread while the database takes
        the current one (read ahead by one batch). The caller closes this generator
        (``aclosing``) before the file: closing waits for the batch being read.
        """
        produce = reader.batches(self._batch_rows)

        def step() -> tuple[list[Record] | None, int]:
            return next(produce, None), reader.rows

        pending = asyncio.ensure_future(asyncio.to_thread(step))
        try:
            while True:
                batch, rows = await pending
                if batch is None:
                    break
                pending = asyncio.ensure_future(asyncio.to_thread(step))
                yield batch
                if progress is not None:
                    await progress(rows)
        finally:
            await asyncio.wait({pending})  # a thread cannot be cancelled: let it finish
            if not pending.cancelled():
                pending.exception()  # what it raised, if anything, is not ours to tell
        if not reader.kinds:  # nothing valid: refuse before touching the list
            report = self._report(reader, rejected, Counts(0, 0, 0))
            raise DomainError(
                "import-all-invalid", rows=reader.rows, invalid=rejected.count, report=report
            )

    @staticmethod
    def _report(reader: RecipientReader, rejected: RejectedLog, counts: Counts) -> ImportReport:
        valid = sum(reader.kinds.values())
        return ImportReport(
            rows=reader.rows,
            added=counts.added,
            already_there=counts.already_there,
            duplicates=valid - counts.unique if counts.unique else 0,
            invalid=rejected.count,
            suppressed=counts.suppressed,
            sample=list(rejected.sample),
            rejected_file=rejected.close(),
            attributes=reader.attributes,
            kinds={AddressKind(kind): count for kind, count in reader.kinds.items()},
            gone=counts.gone,
        )

    def _rejected_path(self, source: ImportSource) -> Path:
        folder = self._rejected_dir or source.path.parent
        path = folder / f"{Path(source.filename).stem or 'import'}.rejected.csv"
        return path.with_name(f"{path.stem}-2.csv") if path == source.path else path
