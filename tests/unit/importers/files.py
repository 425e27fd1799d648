"""Building test files: tables as CSV text in any encoding, XLSX workbooks, and reading them."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook

from domain.imports import ImportSource
from infrastructure.importers.rejected import RejectedLog
from infrastructure.importers.rows import RecipientReader, Record
from infrastructure.importers.tables import open_table


def write(folder: Path, filename: str, content: bytes | str, encoding: str = "utf-8") -> Path:
    path = folder / filename
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def source(folder: Path, filename: str, content: bytes | str, **kwargs: str) -> ImportSource:
    sheet = kwargs.pop("sheet", None)
    return ImportSource(write(folder, filename, content, **kwargs), filename, sheet)


def workbook(*sheets: tuple[str, list[list[object]]]) -> Workbook:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    return book


def xlsx_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class Read:
    """Everything a file yields before the database: records, rejections, the reader."""

    def __init__(self, src: ImportSource, folder: Path) -> None:
        self.rejected = RejectedLog(folder / "rejected.csv", sample_size=10)
        with open_table(src) as table:
            self.reader = RecipientReader(table.rows, table.delimiter, self.rejected)
            self.records: list[Record] = [r for batch in self.reader.batches(3) for r in batch]

    @property
    def addresses(self) -> list[tuple[str, str]]:
        return [(str(r[1]), str(r[2])) for r in self.records]

    def attributes(self, index: int = 0) -> dict[str, str]:
        """The attributes of one record as the database would store them."""
        values = self.records[index][3:]
        keys = self.reader.attributes
        return {k: str(v).strip() for k, v in zip(keys, values, strict=True) if str(v).strip()}

    @property
    def reasons(self) -> list[tuple[int, str]]:
        return [(row.line, row.reason) for row in self.rejected.sample]


def read(folder: Path, filename: str, content: bytes | str, **kwargs: str) -> Read:
    return Read(source(folder, filename, content, **kwargs), folder)
