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


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PACKAGE = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{_SHEET_TYPE}.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        f'ContentType="{_SHEET_TYPE}.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
        f'Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets>'
        '<sheet name="People" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}


def shared_strings_book(path: Path, entries: int, rows: int, *, unique: bool) -> Path:
    """A workbook written the way Excel writes one: every text in the shared strings table
    (``entries`` of them: "email" and then ``user<n>@example.com``, or one-letter texts),
    the sheet's ``rows`` after its header pointing at them. Written as a stream: never
    whole in this process's memory."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, text in _PACKAGE.items():
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            for row in range(1, rows + 2):
                cell = f'<c r="A{row}" t="s"><v>{row - 1}</v></c>'
                sheet.write(f'<row r="{row}">{cell}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(f'<sst xmlns="{_MAIN}"><si><t>email</t></si>'.encode())
            for start in range(1, entries, 10_000):
                numbers = range(start, min(start + 10_000, entries))
                texts = (f"user{n}@example.com" if unique else "x" for n in numbers)
                strings.write("".join(f"<si><t>{t}</t></si>" for t in texts).encode())
            strings.write(b"</sst>")
    return path


def shared_strings_bomb(path: Path, entries: int = 5_000_000) -> Path:
    """The attacker's file from issue 17: a few hundred KB on disk whose shared strings
    table unpacks to ``entries`` one-letter texts (5 million: 85 MB of XML)."""
    return shared_strings_book(path, entries, rows=1, unique=False)
