"""Files past the reading limits are refused with exact messages, before they are read
whole: a row too wide, a line too long, a workbook that unpacks to too much (a zip
bomb), too many texts, rows or cells."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from domain.errors import DomainError
from domain.imports import ImportSource
from infrastructure.db import create_engine
from infrastructure.importers import SqlRecipientImporter, sheet_names, xlsx
from infrastructure.importers import workbook as package
from infrastructure.importers.tables import MAX_COLUMNS, MAX_LINE_CHARS
from tests.unit.importers.files import (
    read,
    shared_strings_bomb,
    shared_strings_book,
    workbook,
    xlsx_bytes,
)

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


# -- workbooks ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """208 KB on disk, 5 million shared strings (85 MB of XML) once unpacked."""
    return shared_strings_bomb(tmp_path_factory.mktemp("bomb") / "upload")


def test_the_shared_strings_bomb_is_refused_before_it_is_parsed(bomb: Path) -> None:
    assert bomb.stat().st_size < 250_000
    with pytest.raises(DomainError) as listing:
        sheet_names(bomb, "bomb.xlsx")
    with pytest.raises(DomainError) as reading:
        read(bomb.parent, "upload", bomb.read_bytes())
    for error in (listing.value, reading.value):
        assert error.key == "import-xlsx-packed"
        assert error.params["part"] == "xl/sharedStrings.xml"
        assert error.params["ratio"] > package.MAX_RATIO


async def test_the_importer_lists_sheets_off_the_loop_and_says_why_a_bomb_is_refused(
    bomb: Path, tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")  # never connected
    importer = SqlRecipientImporter(engine)
    with pytest.raises(DomainError, match="import-xlsx-packed"):
        await importer.sheet_names(ImportSource(bomb, "bomb.xlsx"))
    await engine.dispose()


def test_the_sheet_list_comes_from_the_workbook_part_alone(tmp_path: Path) -> None:
    """Its shared strings are broken: listing the sheets never reads them."""
    book = shared_strings_book(tmp_path / "book.xlsx", 10, rows=9, unique=True)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(book) as good, zipfile.ZipFile(broken, "w") as bad:
        for name in good.namelist():
            text = b"<sst><si>" if name == "xl/sharedStrings.xml" else good.read(name)
            bad.writestr(name, text)
    assert sheet_names(broken, "broken.xlsx") == ["People"]
    with pytest.raises(DomainError, match="import-unsupported-format"):
        read(tmp_path, "broken.xlsx", broken.read_bytes())


def test_shared_strings_are_read_from_disk_as_openpyxl_reads_them(tmp_path: Path) -> None:
    book = shared_strings_book(tmp_path / "book.xlsx", 3_000, rows=2_999, unique=True)
    got = read(tmp_path, "book.xlsx", book.read_bytes())
    assert got.addresses[0] == ("email", "user1@example.com")
    assert got.addresses[-1] == ("email", "user2999@example.com")
    assert len(got.addresses) == 2_999


def test_rich_text_and_escapes_in_shared_strings(tmp_path: Path) -> None:
    book = shared_strings_book(tmp_path / "book.xlsx", 2, rows=1, unique=True)
    rich = tmp_path / "rich.xlsx"
    table = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>email</t></si><si><r><t>ann@</t></r><r><rPr/><t>example.com</t></r>"
        "<rPh><t>ignored</t></rPh></si></sst>"
    )
    with zipfile.ZipFile(book) as good, zipfile.ZipFile(rich, "w") as out:
        for name in good.namelist():
            out.writestr(name, table if name == "xl/sharedStrings.xml" else good.read(name))
    assert read(tmp_path, "rich.xlsx", rich.read_bytes()).addresses == [
        ("email", "ann@example.com")
    ]


@pytest.mark.parametrize(
    ("module", "limit", "value", "key"),
    [
        (package, "MAX_SHARED_STRINGS", 1_000, "import-xlsx-too-many-texts"),
        (package, "MAX_EXPANDED_BYTES", 50_000, "import-xlsx-too-big"),
        (xlsx, "MAX_ROWS", 1_000, "import-too-many-rows"),
        (xlsx, "MAX_CELLS", 1_000, "import-too-many-cells"),
    ],
)
def test_a_workbook_past_a_limit_is_refused_with_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    module: object,
    limit: str,
    value: int,
    key: str,
) -> None:
    """Lowered limits, so that a small real workbook crosses them."""
    monkeypatch.setattr(module, limit, value)
    book = shared_strings_book(tmp_path / "book.xlsx", 3_000, rows=2_999, unique=True)
    with pytest.raises(DomainError) as caught:
        read(tmp_path, "book.xlsx", book.read_bytes())
    assert caught.value.key == key
    assert caught.value.params["filename"] == "book.xlsx"


def test_a_part_read_whole_is_refused_past_its_limit(tmp_path: Path) -> None:
    """Styles are read whole by openpyxl: 5 MB of them (packed as tightly as real
    ones) is refused for its size."""
    styles = "".join(f'<numFmt numFmtId="{n}" formatCode="0.{n}"/>' for n in range(120_000))
    book = tmp_path / "styled.xlsx"
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("xl/workbook.xml", "<workbook/>")
        out.writestr("xl/styles.xml", f"<styleSheet>{styles}</styleSheet>")
    with pytest.raises(DomainError) as caught:
        sheet_names(book, "styled.xlsx")
    assert caught.value.key == "import-xlsx-too-big"
    assert caught.value.params["part"] == " (xl/styles.xml)"
    assert caught.value.params["limit"] == package.MAX_PART_BYTES >> 20


def test_a_zip_of_too_many_parts_is_not_listed(tmp_path: Path) -> None:
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(many, "w") as out:
        out.writestr("xl/workbook.xml", "<workbook/>")
        for n in range(package.MAX_MEMBERS):
            out.writestr(f"x/{n}", b"")
    with pytest.raises(DomainError, match="import-unsupported-format"):
        read(tmp_path, "many.xlsx", many.read_bytes())
