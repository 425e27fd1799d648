"""An uploaded XLSX package, checked before anything in it is parsed.

An XLSX is a zip of XML parts, and a zip can unpack to a thousand times its size: a
208 KB file whose shared strings table holds 5 million entries took openpyxl half a
minute and 460 MB. So, before parsing:

* the zip directory is read for sizes only: more than ``MAX_MEMBERS`` parts, more than
  ``MAX_EXPANDED_BYTES`` unpacked, a part packed more than ``MAX_RATIO`` times, or a part
  openpyxl reads whole (styles, theme, the workbook part …) over ``MAX_PART_BYTES`` is
  refused (``import-xlsx-too-big``, ``import-xlsx-packed``). ``zipfile`` never unpacks
  more than a part's stated size (a part that lies fails its CRC check);
* the sheet list comes from the workbook part (``xl/workbook.xml``) and its relationships
  alone, without the shared strings or any sheet;
* the shared strings table is streamed into a temporary file with an offset per entry
  (4 bytes in memory, not a Python string each), at most ``MAX_SHARED_STRINGS`` entries;
* worksheets are streamed by openpyxl's read-only mode; ``xlsx`` stops a sheet past
  ``MAX_ROWS`` rows or ``MAX_CELLS`` cells.

XML is parsed with the standard library, as openpyxl does without defusedxml: its expat
(2.4.1 and newer) refuses entity expansion bombs, and ElementTree never fetches external
entities.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, overload
from xml.etree.ElementTree import Element, iterparse

from domain.errors import DomainError

MAX_MEMBERS = 10_000  # parts in the zip (a workbook has tens)
MAX_EXPANDED_BYTES = 1 << 30  # all parts unpacked: 1 GiB, about a million rows of ten cells
MAX_RATIO = 100  # unpacked / packed size of a part over RATIO_FROM bytes
RATIO_FROM = 1 << 20
MAX_PART_BYTES = 4 << 20  # a part read whole into memory (styles, theme, workbook, rels …)
MAX_SHARED_STRINGS = 2_000_000  # texts of the shared strings table
MAX_ROWS = 1_048_576  # rows of a sheet, as Excel's own limit
MAX_CELLS = 20_000_000  # cells of a sheet

# What check_package refuses a workbook with (said at once, also when listing sheets).
PACKAGE_LIMITS = frozenset({"import-xlsx-too-big", "import-xlsx-packed"})

WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_MB = 1 << 20
_END_OF_DIRECTORY = b"PK\x05\x06"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _streamed(name: str) -> bool:
    """Parts read as a stream (sheets by openpyxl, the shared strings here): only their
    ratio and the total count, not their size."""
    if "/_rels/" in name:
        return False  # a sheet's relationships are read whole
    return name.startswith("xl/worksheets/") or name.rpartition("/")[2].startswith("sharedStrings")


def part_count(path: Path) -> int | None:
    """The number of parts the zip's end record states (``None`` when it has none): read
    before ``zipfile`` builds an object for each of them."""
    with path.open("rb") as file:
        file.seek(0, 2)
        size = file.tell()
        file.seek(max(0, size - (1 << 16) - 22))
        tail = file.read()
    at = tail.rfind(_END_OF_DIRECTORY)
    if at < 0 or len(tail) - at < 22:
        return None
    return int(struct.unpack_from("<H", tail, at + 10)[0])


def check_package(path: Path, filename: str) -> None:
    """Refuse a package that would unpack to too much, before anything is parsed."""
    with zipfile.ZipFile(path) as archive:
        parts = archive.infolist()
    total = 0
    for part in parts:
        total += part.file_size
        packed = max(part.compress_size, 1)
        if part.file_size > RATIO_FROM and part.file_size > MAX_RATIO * packed:
            ratio = part.file_size // packed
            raise DomainError(
                "import-xlsx-packed", filename=filename, part=part.filename, ratio=ratio
            )
        if part.file_size > MAX_PART_BYTES and not _streamed(part.filename):
            raise DomainError(
                "import-xlsx-too-big",
                filename=filename,
                size=-(-part.file_size // _MB),
                limit=MAX_PART_BYTES // _MB,
                part=f" ({part.filename})",
            )
    if total > MAX_EXPANDED_BYTES:
        raise DomainError(
            "import-xlsx-too-big",
            filename=filename,
            size=-(-total // _MB),
            limit=MAX_EXPANDED_BYTES // _MB,
            part="",
        )


def _relationships(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """The workbook part's relationships: id -> (kind such as "worksheet", part name)."""
    found: dict[str, tuple[str, str]] = {}
    if WORKBOOK_RELS not in archive.namelist():
        return found
    with archive.open(WORKBOOK_RELS) as rels:
        for _, element in iterparse(rels):  # noqa: S314 (see the module's docstring)
            if _local(element.tag) == "Relationship":
                target = element.get("Target", "")
                name = target[1:] if target.startswith("/") else f"xl/{target}"
                found[element.get("Id", "")] = (element.get("Type", "").rpartition("/")[2], name)
    return found


def worksheet_names(archive: zipfile.ZipFile) -> list[str]:
    """The worksheets in workbook order (chart sheets left out), from the workbook part
    and its relationships only."""
    kinds = {key: kind for key, (kind, _) in _relationships(archive).items()}
    names = []
    with archive.open(WORKBOOK) as workbook:
        for _, element in iterparse(workbook):  # noqa: S314 (as above)
            if _local(element.tag) != "sheet":
                continue
            ids = [value for key, value in element.attrib.items() if _local(key) == "id"]
            if kinds.get(ids[0] if ids else "", "worksheet") == "worksheet":
                names.append(element.get("name", ""))
    return names


class SharedStrings(Sequence[str]):
    """A workbook's shared strings table, kept in a temporary file: the texts as UTF-8
    one after another, and in memory only where each one ends."""

    def __init__(self, archive: zipfile.ZipFile, filename: str) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._ends = array("I")  # 4 bytes each: the table is under MAX_EXPANDED_BYTES
        self._filename = filename
        parts = [
            name for kind, name in _relationships(archive).values() if kind == "sharedStrings"
        ]
        if parts and parts[0] in archive.namelist():
            with archive.open(parts[0]) as stream:
                self._load(stream)
        self._file.flush()
        self._fd = self._file.fileno()

    def _load(self, stream: IO[bytes]) -> None:
        write, ends, offset = self._file.write, self._ends, 0
        events = iterparse(stream, events=("start", "end"))  # noqa: S314 (as above)
        _, root = next(events)
        for event, element in events:
            if event == "end" and _local(element.tag) == "si":
                data = _text(element).replace("x005F_", "").encode()
                write(data)
                offset += len(data)
                ends.append(offset)
                if len(ends) > MAX_SHARED_STRINGS:
                    raise DomainError(
                        "import-xlsx-too-many-texts",
                        filename=self._filename,
                        limit=MAX_SHARED_STRINGS,
                    )
                root.clear()  # the entries read so far: iterparse would keep them all

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not 0 <= index < len(self._ends):
            raise IndexError(index)  # a sheet pointing past the table: a broken file
        start = self._ends[index - 1] if index else 0
        end = self._ends[index]
        # pread, not mmap: mapped pages would count in the process's resident memory.
        return os.pread(self._fd, end - start, start).decode() if end > start else ""

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    def close(self) -> None:
        self._file.close()


def _text(entry: Element) -> str:
    """An ``<si>``'s text: its ``<t>``, or the ``<t>`` of its rich-text runs (phonetic
    hints left out), as openpyxl reads it."""
    if len(entry) == 1 and _local(entry[0].tag) == "t":
        return entry[0].text or ""
    parts = []
    for child in entry:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts += [t.text or "" for t in child if _local(t.tag) == "t"]
    return "".join(parts)
