"""XLSX workbooks, read as a stream of rows (openpyxl's read-only mode).

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
from xml.etree.ElementTree import ParseError

from domain.errors import DomainError
from infrastructure.importers.sniff import unsupported

# What a damaged or foreign package raises while openpyxl opens it (with openpyxl's own
# InvalidFileException). openpyxl is imported when a workbook is read, not with this
# module: it pulls numpy and Pillow in when they are installed (~35 MB in every process).
_BROKEN = (zipfile.BadZipFile, KeyError, ParseError, ValueError, OSError)


class Formula(str):
    """A cell that holds a formula: the value the spreadsheet saved for it, as text (empty
    when it saved none: a file written by a library), with the formula beside it. An
    address that is bad or missing there is reported as a formula, not a mistyped one."""

    formula: str

    def __new__(cls, value: str, formula: str) -> Formula:
        cell = super().__new__(cls, value)
        cell.formula = formula
        return cell


@contextmanager
def _workbook(path: Path, filename: str, *, data_only: bool = True) -> Iterator[Any]:
    # Given a path, openpyxl refuses any name not ending in .xlsx (a download is saved as
    # "upload"); given an open file it looks at the content. Read-only mode reads the file
    # lazily, so it stays open until the workbook is closed.
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    with path.open("rb") as file:
        try:
            workbook = load_workbook(file, read_only=True, data_only=data_only)
        except (*_BROKEN, InvalidFileException) as error:
            raise unsupported(filename) from error
        try:
            yield workbook
        finally:
            workbook.close()


def sheet_names(path: Path, filename: str | None = None) -> list[str]:
    """Worksheet names in workbook order, for the bot to ask which one to import."""
    with _workbook(path, filename or path.name) as workbook:
        return [sheet.title for sheet in workbook.worksheets]


@contextmanager
def xlsx_rows(path: Path, filename: str, sheet: str | None) -> Iterator[Iterator[list[str]]]:
    """Every row of the sheet (the first one unless ``sheet`` names another), as text."""
    # Read twice, in step: once for the values the spreadsheet saved, once for which
    # cells are formulas (openpyxl gives one or the other, never both).
    with (
        _workbook(path, filename) as workbook,
        _workbook(path, filename, data_only=False) as formulas,
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
    try:
        for row, written in zip_longest(rows, formulas, fillvalue=()):
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
