"""Rejected rows: the first few for the chat, every one of them in a CSV file.

The file is written while the import streams, so a million bad rows never sit in memory.
It is UTF-8 with a BOM (Excel then reads Cyrillic correctly) and ``;``-separated, which is
what Excel expects in a Russian locale; Google Sheets and LibreOffice detect either.
Columns: ``line`` (1-based, header included), ``row`` (the row as it was, cells joined by
the file's delimiter) and ``reason`` (a message key, translated by the bot).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, TextIO

from domain.imports import RejectedRow

HEADER = ("line", "row", "reason")
DELIMITER = ";"
SAMPLE_RAW_LIMIT = 200  # characters of a row quoted in the chat; the file has it whole
# A spreadsheet runs a cell that starts like a formula (CSV injection, OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would otherwise evaluate."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


class RejectedLog:
    """Collects rejected rows; the CSV is created on the first one only."""

    def __init__(self, path: Path, sample_size: int) -> None:
        self.path = path
        self.count = 0
        self.sample: list[RejectedRow] = []
        self._sample_size = sample_size
        self._file: TextIO | None = None
        self._writer: Any = None  # a csv writer (its type is private to the csv module)

    def add(self, line: int, raw: str, reason: str) -> None:
        self.count += 1
        if len(self.sample) < self._sample_size:
            short = raw if len(raw) <= SAMPLE_RAW_LIMIT else raw[:SAMPLE_RAW_LIMIT] + "…"
            self.sample.append(RejectedRow(line=line, raw=short, reason=reason))
        if self._file is None:
            self._open()
        self._writer.writerow((line, neutralize(raw), reason))

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file, delimiter=DELIMITER)
        self._writer.writerow(HEADER)

    def close(self) -> Path | None:
        """Flush the file; its path, or ``None`` when nothing was rejected."""
        if self._file is None:
            return None
        if not self._file.closed:
            self._file.close()
        return self.path

    def discard(self) -> None:
        """The import failed: remove the partial file."""
        if self._file is not None:
            self._file.close()
        self.path.unlink(missing_ok=True)
