"""What a file is, judged by its content first and its name second.

A spreadsheet saved as ``.csv`` and a CSV named ``.xlsx`` both happen; so do photos,
PDFs, Word documents and legacy ``.xls`` files sent by mistake. Only XLSX workbooks and
text tables are read; everything else is refused with ``import-unsupported-format``.
"""

from __future__ import annotations

import codecs
import enum
import re
import zipfile
from pathlib import Path

from domain.errors import DomainError
from infrastructure.importers.workbook import MAX_MEMBERS, part_count

HEAD_SIZE = 64 * 1024
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Formats that are never a table we read, by their first bytes.
_BINARY_MAGIC = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE2: legacy .xls/.doc, encrypted .xlsx
    b"%PDF-",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"\x1f\x8b",  # gzip
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x7fELF",
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# C0 control characters that text tables do not contain (tab, newlines, form feed do).
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_MARKUP = (b"<!doctype html", b"<html", b"<?xml")


class FileKind(enum.Enum):
    text = "text"
    xlsx = "xlsx"


def sniff(path: Path, filename: str) -> FileKind:
    with path.open("rb") as file:
        head = file.read(HEAD_SIZE)
    if not head:
        raise DomainError("import-empty-file")
    if head.startswith(_ZIP_MAGIC):
        if _is_workbook(path):
            return FileKind.xlsx
        raise unsupported(filename)
    if head.startswith(UTF16_BOMS):
        return FileKind.text
    if head.startswith(_BINARY_MAGIC) or _looks_binary(head):
        raise unsupported(filename)
    start = head.removeprefix(codecs.BOM_UTF8).lstrip()[:16].lower()
    if start.startswith(_MARKUP):
        raise DomainError("import-not-a-table", filename=filename)
    return FileKind.text


def unsupported(filename: str) -> DomainError:
    return DomainError("import-unsupported-format", filename=filename)


def _is_workbook(path: Path) -> bool:
    """An XLSX/XLSM package, not a DOCX, an ODS or a plain archive (nor one of so many
    parts that listing them would take hundreds of MB)."""
    count = part_count(path)
    if count is None or count > MAX_MEMBERS:
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or more than 1 % control characters: no text table looks like this."""
    if b"\x00" in head:
        return True
    return len(_CONTROL.findall(head)) * 100 > len(head)
