"""XLSX workbooks, read as a stream of rows (openpyxl's read-only mode).

The package is checked before it is parsed and its shared strings are kept on disk
(``workbook``); a sheet stops past ``MAX_ROWS`` rows or ``MAX_CELLS`` cells.

``data_only=True`` gives formulas their cached values; a formula never calculated (a file
written by a library, not by Excel) has none and reads as an empty cell. In read-only
mode merged cells carry their value in the top-left cell only, the rest read as empty.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from itertools import zip_longest
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError, iterparse

from domain.errors import DomainError
from infrastructure.importers.sniff import unsupported
from infrastructure.importers.workbook import (
    MAX_CELLS,
    MAX_ROWS,
    WORKBOOK,
    SharedStrings,
    check_package,
    worksheet_names,
)

# What a damaged or foreign package raises while openpyxl opens it (with openpyxl's own
# InvalidFileException). openpyxl is imported when a workbook is read, not with this
# module: it pulls numpy and Pillow in when they are installed (~35 MB in every process).
_BROKEN = (zipfile.BadZipFile, KeyError, ParseError, ValueError, OSError, IndexError)


class Formula(str):
    """A cell that holds a formula: the value the spreadsheet saved for it, as text (empty
    when it saved none: a file written by a library), with the formula beside it. An
    address that is bad or missing there is reported as a formula, not a mistyped one."""

    formula: str

    def __new__(cls, value: str, formula: str) -> Formula:
        cell = super().__new__(cls, value)
        cell.formula = formula
        return cell


def _lean_rows() -> None:
    """openpyxl's read-only sheets parse rows with ``iterparse`` and clear each one, but
    the cleared element stays in ``<sheetData>``: about 100 bytes a row, 200 MB for a
    million rows read twice; and a sheet that does not state its size up front is parsed
    whole (and kept) when the workbook opens, to look for it. Their parser is swapped,
    once, for one that empties ``<sheetData>`` after each row and never looks for the
    size; it yields the same rows (the other parts of a sheet — print setup, merged
    cells, column widths — are of no use to a read-only import)."""
    from openpyxl.worksheet import _read_only, _reader

    if getattr(_read_only.WorkSheetParser, "lean", False):
        return

    class LeanParser(_reader.WorkSheetParser):  # type: ignore[misc]
        lean = True

        def parse_dimensions(self) -> None:
            # The stored size is ignored (_rows resets it); a sheet without one would be
            # parsed whole, and kept whole, just to look for it.
            return None

        def parse(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
            data = None
            events = iterparse(self.source, events=("start", "end"))  # noqa: S314 (workbook.py)
            for event, element in events:
                if event == "start":
                    if element.tag == _reader.DATA_TAG:
                        data = element
                elif element.tag == _reader.ROW_TAG:
                    row = self.parse_row(element)
                    if data is not None:
                        data.clear()
                    yield row

    _read_only.WorkSheetParser = LeanParser


@contextmanager
def _workbook(
    path: Path, filename: str, strings: SharedStrings, *, data_only: bool
) -> Iterator[Any]:
    # openpyxl's load_workbook, with the shared strings table read once, on disk (see
    # workbook.SharedStrings), instead of a Python string per entry in each workbook.
    # Given a path, openpyxl refuses any name not ending in .xlsx (a download is saved as
    # "upload"); given an open file it looks at the content. Read-only mode reads the file
    # lazily, so it stays open until the workbook is closed.
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.utils.exceptions import InvalidFileException

    _lean_rows()

    class Reader(ExcelReader):  # type: ignore[misc]
        def read_strings(self) -> None:
            self.shared_strings = strings

    with path.open("rb") as file:
        try:
            reader = Reader(file, read_only=True, data_only=data_only)
            reader.read()
            workbook = reader.wb
        except (*_BROKEN, InvalidFileException) as error:
            raise unsupported(filename) from error
        try:
            yield workbook
        finally:
            workbook.close()


@contextmanager
def _shared_strings(path: Path, filename: str) -> Iterator[SharedStrings]:
    try:
        with zipfile.ZipFile(path) as archive:
            strings = SharedStrings(archive, filename)
    except _BROKEN as error:
        raise unsupported(filename) from error
    try:
        yield strings
    finally:
        strings.close()


def sheet_names(path: Path, filename: str | None = None) -> list[str]:
    """Worksheet names in workbook order, for the bot to ask which one to import: from the
    workbook part alone (no sheet and no shared string is read)."""
    filename = filename or path.name
    check_package(path, filename)
    try:
        with zipfile.ZipFile(path) as archive:
            if WORKBOOK not in archive.namelist():
                raise unsupported(filename)
            return worksheet_names(archive)
    except _BROKEN as error:
        raise unsupported(filename) from error


@contextmanager
def xlsx_rows(path: Path, filename: str, sheet: str | None) -> Iterator[Iterator[list[str]]]:
    """Every row of the sheet (the first one unless ``sheet`` names another), as text."""
    check_package(path, filename)
    # Read twice, in step: once for the values the spreadsheet saved, once for which
    # cells are formulas (openpyxl gives one or the other, never both).
    with (
        _shared_strings(path, filename) as strings,
        _workbook(path, filename, strings, data_only=True) as workbook,
        _workbook(path, filename, strings, data_only=False) as formulas,
    ):
        names = [each.title for each in workbook.worksheets]
        if not names:
            raise DomainError("import-empty-file")
        if sheet is not None and sheet not in names:
            raise DomainError("import-unknown-sheet", sheet=sheet, sheets=", ".join(names))
        index = names.index(sheet) if sheet is not None else 0
        yield _texts(_rows(workbook, index), _rows(formulas, index), filename)


def _rows(workbook: Any, index: int) -> Iterator[tuple[object, ...]]:
    worksheet = workbook.worksheets[index]
    # The stored dimension may be wrong (some writers put "A1"); it would cut rows off.
    worksheet.reset_dimensions()
    return worksheet.iter_rows(min_row=1, values_only=True)  # type: ignore[no-any-return]


def _texts(
    rows: Iterator[tuple[object, ...]], formulas: Iterator[tuple[object, ...]], filename: str
) -> Iterator[list[str]]:
    cells = 0
    try:
        for number, (row, written) in enumerate(zip_longest(rows, formulas, fillvalue=()), 1):
            cells += len(row)
            if number > MAX_ROWS:
                raise DomainError("import-too-many-rows", filename=filename, limit=MAX_ROWS)
            if cells > MAX_CELLS:
                raise DomainError("import-too-many-cells", filename=filename, limit=MAX_CELLS)
            texts = [cell_text(value) for value in row]
            for at, cell in enumerate(written):
                # A text cell may start with "=" too: then both reads give the same text.
                saved = row[at] if at < len(row) else None
                if isinstance(cell, str) and cell.startswith("=") and cell != saved:
                    if at >= len(texts):
                        texts += [""] * (at + 1 - len(texts))
                    texts[at] = Formula(texts[at], cell)
            yield texts
    except _BROKEN as error:  # a damaged sheet is found out only while reading it
        raise unsupported(filename) from error


def cell_text(value: object) -> str:
    """A cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return str(int(value))  # a chat id typed into Excel is stored as a float
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
