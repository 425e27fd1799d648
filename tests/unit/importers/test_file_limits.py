"""Files past the reading limits are refused with exact messages, before they are read
whole: a row too wide, a line too long."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import DomainError
from infrastructure.importers.tables import MAX_COLUMNS, MAX_LINE_CHARS
from tests.unit.importers.files import read, workbook, xlsx_bytes

WIDE_HEADER = ";".join(f"c{i}" for i in range(10_000)) + "\n"


def refused(folder: Path, filename: str, content: bytes | str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        read(folder, filename, content)
    return caught.value


def test_a_10000_column_csv_is_refused_with_its_width(tmp_path: Path) -> None:
    error = refused(tmp_path, "wide.csv", WIDE_HEADER + "a@example.com" + ";x" * 9_999 + "\n")
    assert error.key == "import-too-many-columns"
    assert error.params == {"line": 1, "columns": 10_000, "limit": MAX_COLUMNS}


def test_a_row_of_a_workbook_too_wide_is_refused_too(tmp_path: Path) -> None:
    rows: list[list[object]] = [["email"], ["a@example.com", *(["x"] * MAX_COLUMNS)]]
    error = refused(tmp_path, "wide.xlsx", xlsx_bytes(workbook(("People", rows))))
    assert error.key == "import-too-many-columns"
    assert error.params == {"line": 2, "columns": MAX_COLUMNS + 1, "limit": MAX_COLUMNS}


@pytest.mark.parametrize(
    ("filename", "content", "line"),
    [
        ("one-line.txt", "a" * 10_000_000, 1),  # once "the file is empty"
        ("one-line.csv", "email;name\n" + "a@example.com;" + "n" * 10_000_000 + "\n", 2),
        ("fields.csv", "email;name\n" + "a;" * 5_000_000, 2),  # millions of tiny cells
    ],
)
def test_a_10_mb_line_is_refused_with_its_number(
    tmp_path: Path, filename: str, content: str, line: int
) -> None:
    error = refused(tmp_path, filename, content)
    assert error.key == "import-line-too-long"
    assert error.params == {"line": line, "limit": MAX_LINE_CHARS}


def test_rows_at_the_limits_are_read(tmp_path: Path) -> None:
    header = "email;" + ";".join(f"c{i}" for i in range(MAX_COLUMNS - 1))
    long_value = "n" * (MAX_LINE_CHARS - len("a@example.com;"))
    content = header + "\r\n" + "a@example.com;" + long_value + "\r\n"
    got = read(tmp_path, "edge.csv", content)
    assert got.addresses == [("email", "a@example.com")]
    assert got.attributes()["c0"] == long_value
