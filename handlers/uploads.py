"""Files the bot sends must fit the Bot API's upload limit: 50 MB for bots on the public
Bot API (https://core.telegram.org/bots/api#sending-files). A bigger file goes zipped
(CSV shrinks several times; XLSX is zipped already); a CSV that does not fit even then is
cut to its first rows, and the caller says so."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import NamedTuple

UPLOAD_LIMIT = 50 * 1024 * 1024


def fit_for_upload(path: Path) -> Path | None:
    """``path`` if it fits, else a zip of it beside it if that fits, else ``None``."""
    if path.stat().st_size <= UPLOAD_LIMIT:
        return path
    zipped = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, path.name)
    if zipped.stat().st_size <= UPLOAD_LIMIT:
        return zipped
    zipped.unlink(missing_ok=True)
    return None


class Cut(NamedTuple):
    path: Path
    kept: int  # data rows in the cut file
    total: int  # data rows in the whole file


def cut_csv(path: Path, delimiter: str, encoding: str = "utf-8-sig") -> Cut:
    """The header and as many whole first rows as fit the limit, in ``<stem>-cut.csv``."""
    cut = path.with_name(f"{path.stem}-cut{path.suffix}")
    size = len("".encode(encoding))  # the byte order mark
    kept = total = 0
    line = io.StringIO()
    formatter = csv.writer(line, delimiter=delimiter)
    with (
        path.open(encoding=encoding, newline="") as source,
        cut.open("w", encoding=encoding, newline="") as target,
    ):
        for index, row in enumerate(csv.reader(source, delimiter=delimiter)):
            total += 1 if index else 0
            if size > UPLOAD_LIMIT:
                continue  # only counted
            line.seek(0)
            line.truncate()
            formatter.writerow(row)
            text = line.getvalue()
            size += len(text.encode("utf-8"))
            if size > UPLOAD_LIMIT and index:
                continue
            target.write(text)
            kept += 1 if index else 0
    return Cut(cut, kept, total)
