"""Per-recipient reports of a run as CSV or XLSX, written chunk by chunk.

The XLSX writer uses openpyxl's write-only mode, which streams rows to a temporary file
instead of keeping a worksheet in memory; both writers do their blocking work in a
thread, so the bot keeps answering while a million-row report is written.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.ports.stats import ReportWriter
from domain.stats import EXPORT_COLUMNS, ExportFormat, ExportRow
from infrastructure.reports.cells import clean_cell, escape_cell


def _text(value: str | None) -> str:
    return escape_cell(value or "")


def _utc_text(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def _utc_naive(moment: datetime | None) -> datetime | None:
    """Excel has no time zones: UTC, as the column's name says."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


class CsvReportWriter:
    """UTF-8 with a byte order mark, so Excel opens Cyrillic text correctly."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w", newline="", encoding="utf-8-sig")
        self._csv = csv.writer(self._file)
        self._csv.writerow(EXPORT_COLUMNS)

    def _write(self, rows: Sequence[ExportRow]) -> None:
        self._csv.writerows(
            (
                _text(r.address),
                r.channel,
                r.status,
                r.attempts,
                _text(r.last_error),
                _utc_text(r.updated_at),
                r.bounce or "",
                _text(r.bounce_reason),
                _utc_text(r.opened_at),
                r.clicks,
                r.variant_name,
                r.recall or "",
                _text(r.answer),
                _yes(r.possibly_twice),
            )
            for r in rows
        )

    async def write(self, rows: Sequence[ExportRow]) -> None:
        await asyncio.to_thread(self._write, rows)

    async def close(self) -> None:
        await asyncio.to_thread(self._file.close)


class XlsxReportWriter:
    """The workbook is made in the writing thread: importing openpyxl takes long enough
    to stall the event loop."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._book: Any = None
        self._sheet: Any = None

    def _open(self) -> None:
        if self._book is None:
            from openpyxl import Workbook

            self._book = Workbook(write_only=True)
            self._sheet = self._book.create_sheet("report")
            self._sheet.append(EXPORT_COLUMNS)

    def _write(self, rows: Sequence[ExportRow]) -> None:
        def clean(value: str | None) -> str:
            return clean_cell(value or "")

        self._open()
        for r in rows:
            self._sheet.append(
                [
                    clean(r.address),
                    r.channel,
                    r.status,
                    r.attempts,
                    clean(r.last_error),
                    _utc_naive(r.updated_at),
                    r.bounce or "",
                    clean(r.bounce_reason),
                    _utc_naive(r.opened_at),
                    r.clicks,
                    r.variant_name,
                    r.recall or "",
                    clean(r.answer),
                    _yes(r.possibly_twice),
                ]
            )

    def _save(self) -> None:
        self._open()
        self._book.save(self._path)

    async def write(self, rows: Sequence[ExportRow]) -> None:
        await asyncio.to_thread(self._write, rows)

    async def close(self) -> None:
        await asyncio.to_thread(self._save)


def open_report_writer(path: Path, fmt: ExportFormat) -> ReportWriter:
    if fmt is ExportFormat.csv:
        return CsvReportWriter(path)
    return XlsxReportWriter(path)
