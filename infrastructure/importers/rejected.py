"""Rejected rows: the first few for the chat, every one of them in a CSV file.

The file is written while the import streams, so a million bad rows never sit in memory.
It is UTF-8 with a BOM (Excel then reads Cyrillic correctly) and ``;``-separated, which is
what Excel expects in a Russian locale; Google Sheets and LibreOffice detect either.
Columns: the line (1-based, header included), the reason in the manager's language, then
the row's own cells under the file's own header, so the rows can be fixed and imported
again. Column names and reasons come from ``ImportSource.labels``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from domain.imports import REJECTED_DELIMITER, RejectedLabels, RejectedRow
from infrastructure.reports.cells import escape_cell

DELIMITER = REJECTED_DELIMITER
SAMPLE_RAW_LIMIT = 200  # characters of a row quoted in the chat; the file has it whole


class RejectedLog:
    """Collects rejected rows; the CSV is created on the first one only."""

    def __init__(self, path: Path, sample_size: int, labels: RejectedLabels | None = None) -> None:
        self.path = path
        self.count = 0
        self.sample: list[RejectedRow] = []
        self._sample_size = sample_size
        self._labels = labels or RejectedLabels()
        self._header: list[str] = []
        self._delimiter = ","
        self._file: TextIO | None = None
        self._writer: Any = None  # a csv writer (its type is private to the csv module)

    def use_columns(self, header: Sequence[str], delimiter: str) -> None:
        """The file's own header (empty without one) and delimiter (the chat's sample
        quotes a row as its cells joined by it)."""
        self._header = list(header)
        self._delimiter = delimiter

    def add(self, line: int, cells: Sequence[str], reason: str) -> None:
        self.count += 1
        if len(self.sample) < self._sample_size:
            raw = self._delimiter.join(cells)
            short = raw if len(raw) <= SAMPLE_RAW_LIMIT else raw[:SAMPLE_RAW_LIMIT] + "…"
            self.sample.append(RejectedRow(line=line, raw=short, reason=reason))
        if self._file is None:
            self._open()
        text = self._labels.text(reason)
        self._writer.writerow((line, text, *(escape_cell(cell) for cell in cells)))

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file, delimiter=DELIMITER)
        own = (escape_cell(cell) for cell in self._header)
        self._writer.writerow((self._labels.line, self._labels.reason, *own))

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
