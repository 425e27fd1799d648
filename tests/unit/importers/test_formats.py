"""Reading every supported format, and refusing what is not a table we can read."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from domain.errors import DomainError
from domain.imports import FORMULA, INVALID_EMAIL, ImportSource
from infrastructure.db import create_engine
from infrastructure.importers import SqlRecipientImporter, sheet_names
from infrastructure.importers.delimiter import detect_delimiter
from tests.unit.importers.files import Read, read, workbook, write, xlsx_bytes

PEOPLE = "email{d}name{d}city\nivan@mail.ru{d}Иван Петров{d}Москва\nanna@ya.ru{d}Анна{d}Казань\n"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_with_any_of_the_three_delimiters(tmp_path: Path, delimiter: str) -> None:
    got = read(tmp_path, "people.csv", PEOPLE.format(d=delimiter))
    assert got.addresses == [("email", "ivan@mail.ru"), ("email", "anna@ya.ru")]
    assert got.attributes(0) == {"name": "Иван Петров", "city": "Москва"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
def test_utf8_with_or_without_bom_and_windows_1251_keep_cyrillic(
    tmp_path: Path, encoding: str
) -> None:
    content = "Почта;Имя\nivan@mail.ru;Иван Петров\n".encode(encoding)
    got = read(tmp_path, "база.csv", content)
    assert got.addresses == [("email", "ivan@mail.ru")]
    assert got.attributes() == {"name": "Иван Петров"}
    assert got.reader.attributes == ["name"]  # the BOM did not stick to the first header


def test_utf16_from_excel_unicode_text_is_read(tmp_path: Path) -> None:
    got = read(tmp_path, "export.txt", "Email\tName\nann@example.com\tAnn\n", encoding="utf-16")
    assert got.addresses == [("email", "ann@example.com")]


def test_quoted_fields_may_hold_delimiters_quotes_and_newlines(tmp_path: Path) -> None:
    content = (
        'email,name,note\n"ivan@mail.ru","Петров, Иван","line one\nline ""two"""\n'
        "anna@ya.ru,Анна,plain\n"
    )
    got = read(tmp_path, "quoted.csv", content)
    assert got.addresses == [("email", "ivan@mail.ru"), ("email", "anna@ya.ru")]
    assert got.attributes(0) == {"name": "Петров, Иван", "note": 'line one\nline "two"'}


def test_a_delimiter_inside_quotes_does_not_count() -> None:
    sample = 'email;name\na@x.ru;"Петров, Иван"\nb@x.ru;"Сидоров, Пётр"\n'
    assert detect_delimiter(sample, complete=True) == ";"
    assert detect_delimiter("a@x.ru\nb@x.ru\n", complete=True) is None
    assert detect_delimiter("email\tname\n", complete=True, suffix=".tsv") == "\t"


def test_plain_text_has_one_address_of_either_kind_per_line(tmp_path: Path) -> None:
    got = read(tmp_path, "list.txt", "ivan@mail.ru\n\n123456789\n-1001234567890\n@someone\n")
    assert got.addresses == [
        ("email", "ivan@mail.ru"),
        ("telegram", "123456789"),
        ("telegram", "-1001234567890"),
    ]
    assert got.reasons == [(5, "import-telegram-username")]
    assert got.reader.rows == 4  # the blank line is not a row


def test_a_one_column_csv_with_a_header_is_read_by_it(tmp_path: Path) -> None:
    got = read(tmp_path, "ids.csv", "Telegram ID\n42\n43\n")
    assert got.addresses == [("telegram", "42"), ("telegram", "43")]


def test_xlsx_reads_the_first_sheet_with_formulas_merged_cells_and_numbers(
    tmp_path: Path,
) -> None:
    book = workbook(
        (
            "Клиенты",
            [
                ["E-mail", "Имя", "Город", "Telegram"],
                ["x@example.com", "X", "Москва", 123456789],
                ["y@example.com", "=B2", None, None],  # a formula never calculated
            ],
        ),
        ("Other", [["email"], ["z@example.com"]]),
    )
    book["Клиенты"].merge_cells("C2:C3")
    got = read(tmp_path, "book.xlsx", xlsx_bytes(book))
    assert got.addresses == [
        ("email", "x@example.com"),
        ("telegram", "123456789"),
        ("email", "y@example.com"),
    ]
    assert got.attributes(0) == {"name": "X", "город": "Москва"}
    assert got.attributes(2) == {}  # merged-away and uncalculated cells are empty


def test_xlsx_cached_formula_values_are_used(tmp_path: Path) -> None:
    path = tmp_path / "cached.xlsx"
    path.write_bytes(xlsx_bytes(workbook(("S", [["email", "n"], ["a@x.ru", "=1+1"]]))))
    with zipfile.ZipFile(path) as archive:  # what Excel writes: the formula and its value
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert read(tmp_path, "cached.xlsx", path.read_bytes()).attributes() == {"n": "2"}


def test_xlsx_reads_the_named_sheet_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    content = xlsx_bytes(workbook(("Summary", [["total", 2]]), ("People", [["a@x.ru"]])))
    got = read(tmp_path, "book.xlsx", content, sheet="People")
    assert got.addresses == [("email", "a@x.ru")]
    with pytest.raises(DomainError) as raised:
        read(tmp_path, "book.xlsx", content, sheet="Nope")
    assert raised.value.key == "import-unknown-sheet"
    assert raised.value.params == {"sheet": "Nope", "sheets": "Summary, People"}


def test_content_wins_over_the_extension(tmp_path: Path) -> None:
    as_xlsx = read(tmp_path, "really-a-csv.xlsx", "email\na@x.ru\n")
    as_csv = read(tmp_path, "really-a-book.csv", xlsx_bytes(workbook(("S", [["b@x.ru"]]))))
    assert as_xlsx.addresses == [("email", "a@x.ru")]
    assert as_csv.addresses == [("email", "b@x.ru")]


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


BAD = [
    ("empty.csv", b"", "import-empty-file"),
    ("blank.csv", b"\n\n  \r\n\t\n", "import-empty-file"),
    ("header-only.csv", b"email;name\n", "import-empty-file"),
    ("garbage.csv", bytes(range(256)) * 40, "import-unsupported-format"),
    ("noise.csv", bytes(range(1, 32)) * 100 + b"a@x.ru\n", "import-unsupported-format"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "import-unsupported-format"),
    ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "import-unsupported-format"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "import-unsupported-format"),
    ("letter.docx", docx_bytes(), "import-unsupported-format"),
    ("broken.xlsx", b"PK\x03\x04" + b"\x01" * 100, "import-unsupported-format"),
    ("page.csv", b"<!DOCTYPE html><html><body>Sign in</body></html>", "import-not-a-table"),
    ("no-address.csv", b"name,city\nAnn,Paris\nBob,Rome\n", "import-no-address-column"),
    ("huge-field.csv", b'email,note\na@x.ru,"' + b"x" * 200_000 + b'"\n', "import-line-too-long"),
    # Short lines, but one quoted field over them all: past the csv module's field limit.
    (
        "huge-quoted.csv",
        b'email,note\na@x.ru,"' + b"x" * 99_999 + b"\n" * 2 + b"x" * 99_999 + b'"\n',
        "import-not-a-table",
    ),
]


@pytest.mark.parametrize(("filename", "content", "key"), BAD, ids=[b[0] for b in BAD])
def test_files_that_are_not_tables_of_addresses_are_refused(
    tmp_path: Path, filename: str, content: bytes, key: str
) -> None:
    with pytest.raises(DomainError) as raised:
        read(tmp_path, filename, content)
    assert raised.value.key == key
    if key == "import-unsupported-format":
        assert raised.value.params == {"filename": filename}


def test_a_file_mixing_utf8_and_windows_1251_is_refused(tmp_path: Path) -> None:
    utf8 = "email,name\na@example.com,Аня\n".encode()
    content = utf8 + b"b@example.com,x\n" * 5000 + "c@example.com,Боря\n".encode("cp1251")
    with pytest.raises(DomainError) as raised:
        read(tmp_path, "mixed.csv", content)
    assert raised.value.key == "import-mixed-encodings"


def test_the_missing_address_column_error_lists_the_columns_found(tmp_path: Path) -> None:
    with pytest.raises(DomainError) as raised:
        read(tmp_path, "x.csv", "Имя;Город\nАнна;Казань\n")
    assert raised.value.params == {"columns": "Имя, Город"}


def test_a_download_saved_without_an_extension_is_still_read(tmp_path: Path) -> None:
    path = write(tmp_path, "upload", xlsx_bytes(workbook(("A", [["x"]]), ("B", [["b@x.ru"]]))))
    got = Read(ImportSource(path, "book.xlsx", "B"), tmp_path)
    assert got.addresses == [("email", "b@x.ru")]
    assert sheet_names(path) == ["A", "B"]


async def test_the_importer_lists_sheets_of_workbooks_only(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")  # never connected
    importer = SqlRecipientImporter(engine)
    book = write(tmp_path, "upload", xlsx_bytes(workbook(("Лист1", [["x"]]), ("Лист2", []))))
    assert await importer.sheet_names(ImportSource(book, "book.xlsx")) == ["Лист1", "Лист2"]
    text = write(tmp_path, "list.csv", "a@x.ru\n")
    assert await importer.sheet_names(ImportSource(text, "list.csv")) == []
    broken = write(tmp_path, "broken.xlsx", b"PK\x03\x04junk")
    assert await importer.sheet_names(ImportSource(broken, "broken.xlsx")) == []
    await engine.dispose()


def test_an_xlsx_address_made_by_a_formula_is_reported_as_a_formula(tmp_path: Path) -> None:
    rows = [
        ["email", "name"],
        ["ann@x.ru", "Ann"],
        ['=CONCAT("bob", "@x.ru")', "Bob"],  # never calculated: no value saved
        ["=A2", "Carl"],  # calculated, but to no address (patched in below)
        ["=LOWER(B2)", "Dan"],  # never calculated either
    ]
    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx_bytes(workbook(("S", rows))))
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(
        b'<c r="A4"><f>A2</f><v />', b'<c r="A4" t="e"><f>A2</f><v>#N/A</v>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    got = read(tmp_path, "book.xlsx", path.read_bytes())
    assert got.addresses == [("email", "ann@x.ru")]
    assert got.reasons == [(3, FORMULA), (4, FORMULA), (5, FORMULA)]
    # The rejected rows keep the formula as the manager typed it.
    assert got.rejected.sample[0].raw == '=CONCAT("bob", "@x.ru");Bob'


def test_an_xlsx_text_cell_starting_with_equals_is_text(tmp_path: Path) -> None:
    book = workbook(("S", [["email"], ["ann@x.ru"]]))
    book["S"]["A3"] = "=oops"
    book["S"]["A3"].data_type = "s"  # stored as text, not as a formula
    got = read(tmp_path, "book.xlsx", xlsx_bytes(book))
    assert got.reasons == [(3, INVALID_EMAIL)]
