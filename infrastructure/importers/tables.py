"""Any supported file as one stream of rows of text cells.

A row is at most ``MAX_COLUMNS`` cells wide and a text line at most ``MAX_LINE_CHARS``
characters long: past either the file is refused with the line and the limit
(``import-too-many-columns``, ``import-line-too-long``), before a whole line is read into
memory or thousands of columns become attributes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from domain.errors import DomainError
from domain.imports import ImportSource
from infrastructure.importers.delimiter import detect_delimiter
from infrastructure.importers.encoding import detect_encoding
from infrastructure.importers.sniff import FileKind, sniff
from infrastructure.importers.xlsx import xlsx_rows

SAMPLE_CHARS = 64 * 1024
MAX_COLUMNS = 1_000  # cells of one row (a spreadsheet's or a text line's)
MAX_LINE_CHARS = 131_072  # one text line, as the csv module's own field limit
XLSX_DELIMITER = ";"  # how a spreadsheet row is quoted back in the rejected rows


@dataclass(frozen=True, slots=True)
class Table:
    rows: Iterator[list[str]]  # every row in order, a blank line as an empty list
    delimiter: str  # joins the cells of a rejected row back together


@contextmanager
def open_table(source: ImportSource) -> Iterator[Table]:
    kind = sniff(source.path, source.filename)
    if kind is FileKind.xlsx:
        with xlsx_rows(source.path, source.filename, source.sheet) as rows:
            yield Table(_narrow(rows), XLSX_DELIMITER)
        return
    encoding = detect_encoding(source.path, source.filename)
    # Windows-1251 leaves one byte (0x98) undefined; it is not worth refusing a file for.
    errors = "replace" if encoding == "cp1251" else "strict"
    with source.path.open(encoding=encoding, errors=errors, newline="") as file:
        sample = file.read(SAMPLE_CHARS)
        complete = len(sample) < SAMPLE_CHARS
        file.seek(0)
        suffix = Path(source.filename).suffix or source.path.suffix
        delimiter = detect_delimiter(sample, complete, suffix)
        lines = _bounded_lines(file)
        if delimiter is None:
            yield Table(_lines(lines), "")
        else:
            reader = csv.reader(lines, delimiter=delimiter)
            yield Table(_records(reader, source.filename), delimiter)


def _bounded_lines(file: TextIO) -> Iterator[str]:
    """The file's lines, refused at the first one over ``MAX_LINE_CHARS`` (never read
    whole: a 100 MB file may be one line)."""
    readline, number = file.readline, 0
    while line := readline(MAX_LINE_CHARS + 3):  # room for the line's own "\r\n"
        number += 1
        if len(line) > MAX_LINE_CHARS and len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
            raise DomainError("import-line-too-long", line=number, limit=MAX_LINE_CHARS)
        yield line


def _narrow(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for number, row in enumerate(rows, start=1):
        if len(row) > MAX_COLUMNS:
            raise _too_wide(number, row)
        yield row


def _too_wide(number: int, row: list[str]) -> DomainError:
    return DomainError("import-too-many-columns", line=number, columns=len(row), limit=MAX_COLUMNS)


def _lines(lines: Iterator[str]) -> Iterator[list[str]]:
    """A one-column file: each line is one value (quotes around it are dropped)."""
    for line in lines:
        value = line.strip()
        if len(value) > 1 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('""', '"').strip()
        yield [value] if value else []


def _records(reader: Iterator[list[str]], filename: str) -> Iterator[list[str]]:
    """``_narrow`` in the same loop: a generator less for each row of a million."""
    number = 0
    try:
        for row in reader:
            number += 1
            if len(row) > MAX_COLUMNS:
                raise _too_wide(number, row)
            yield row
    except csv.Error as error:  # e.g. a field beyond the size limit: not a table of ours
        raise DomainError("import-not-a-table", filename=filename) from error
