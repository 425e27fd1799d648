"""The text encoding of a table: UTF-8 (with or without a BOM), Windows-1251 or UTF-16.

Excel on a Russian Windows saves "CSV" in Windows-1251, everything else uses UTF-8. A
strict UTF-8 decode tells them apart, but a file glued together from both (two exports
concatenated) would decode into mojibake either way, so it is refused. The whole file is
scanned in chunks before reading (a few tens of milliseconds for a million rows), line by
line only where a chunk is not valid UTF-8: a Windows-1251 line practically never is.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from domain.errors import DomainError
from infrastructure.importers.sniff import UTF16_BOMS, unsupported

CHUNK = 1024 * 1024


class _Scan:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.utf8 = False  # some line is valid UTF-8 with non-ASCII characters
        self.invalid = False  # some line is not valid UTF-8

    def feed(self, block: bytes) -> None:
        if b"\x00" in block:
            raise unsupported(self.filename)
        if block.isascii():
            return
        try:
            block.decode("utf-8")
            self.utf8 = True
        except UnicodeDecodeError:
            for line in block.split(b"\n"):
                if not line.isascii():
                    self._feed_line(line)
        if self.utf8 and self.invalid:
            raise DomainError("import-mixed-encodings", filename=self.filename)

    def _feed_line(self, line: bytes) -> None:
        try:
            line.decode("utf-8")
            self.utf8 = True
        except UnicodeDecodeError:
            self.invalid = True


def detect_encoding(path: Path, filename: str) -> str:
    """A codec name for ``open()``; ``cp1251`` when the file is not UTF-8 at all."""
    scan = _Scan(filename)
    with path.open("rb") as file:
        head = file.read(4)
        if head.startswith(UTF16_BOMS):
            return "utf-16"
        file.seek(0)
        bom = head.startswith(codecs.BOM_UTF8)
        rest = b""
        while chunk := file.read(CHUNK):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) < 8 * CHUNK:
                rest = data  # a line longer than a chunk: wait for its end
                continue
            cut = cut or len(data)
            scan.feed(data[:cut])
            rest = data[cut:]
        scan.feed(rest)
    if not scan.invalid:
        return "utf-8-sig" if bom else "utf-8"
    return "cp1251"  # (with a BOM, the first invalid line was already "mixed")
