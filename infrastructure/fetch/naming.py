"""The name a downloaded file is shown and parsed under.

Only the *display* name comes from the server; the file on disk always gets a name we
generate, so a hostile ``Content-Disposition`` cannot write outside ``dest_dir``.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    XLSX_TYPE: ".xlsx",
}
DEFAULT_STEM = "download"
MAX_NAME_LENGTH = 120
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


def media_type(content_type: str | None) -> str:
    """``text/csv; charset=utf-8`` → ``text/csv``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def choose_filename(content_disposition: str | None, url_path: str, content_type: str) -> str:
    """Content-Disposition, else the last segment of the URL path, else by content type."""
    extension = EXTENSIONS.get(media_type(content_type), "")
    name = _from_disposition(content_disposition) or _from_path(url_path)
    if not name:
        return DEFAULT_STEM + extension
    if not PurePosixPath(name).suffix and extension:
        name += extension
    return name


def _from_disposition(value: str | None) -> str | None:
    if not value:
        return None
    message = Message()
    message["content-disposition"] = value
    params: list[tuple[str, Any]] = message.get_params(header="content-disposition") or []
    names = [v for k, v in params if k.lower() == "filename"]
    # RFC 6266: the extended filename*=UTF-8''… (parsed as a tuple) wins over filename=.
    extended = [v for v in names if isinstance(v, tuple)]
    chosen = extended[0] if extended else (names[0] if names else None)
    return _clean(collapse_rfc2231_value(chosen) if chosen is not None else None)


def _from_path(path: str) -> str | None:
    return _clean(unquote(path.rstrip("/").rsplit("/", 1)[-1]))


def _clean(name: str | None) -> str | None:
    if not name:
        return None
    # Keep the last path component only: "..\\..\\x.csv" or "/etc/x.csv" become "x.csv".
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("", name).strip().strip(".")
    if not name:
        return None
    if len(name) > MAX_NAME_LENGTH:
        suffix = PurePosixPath(name).suffix[:10]
        name = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
    return name
