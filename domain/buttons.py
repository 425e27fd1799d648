"""URL buttons under a Telegram message (``Mailing.options["buttons"]``): rows of
``{"text", "url"}``.

One set of rules for every way in and out: the dialog's typed lines (``parse_buttons``),
any change of a mailing's buttons (``check_buttons``, in ``usecases.mailings.update``, so
the bot and the API store the same), what the sender and the previews put on a message
(``url_buttons``), and tracking's rewrite of their links (``rewrite_buttons``).

The limits: at most ``ROWS_MAX`` rows of ``PER_ROW_MAX`` buttons (Telegram allows more,
but a message with more is unreadable on a phone), a label of at most ``TEXT_MAX``
characters (cut to it, as Telegram shows no more), and a link that is ``http(s)://`` or
``tg://`` (an inline URL button takes those; the scheme's case does not matter, RFC 3986
§3.1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput

ROWS_MAX = 8
PER_ROW_MAX = 4
TEXT_MAX = 64
SCHEMES = ("https://", "http://", "tg://")
Rows = list[list[dict[str, str]]]


@dataclass(frozen=True, slots=True)
class UrlButton:
    text: str
    url: str


def lower_scheme(url: str) -> str:
    """``HTTP://Shop.example`` is a link too: schemes are case-insensitive."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.lower()}{sep}{rest}" if sep else url


def button(text: str, url: str, row: int) -> dict[str, str]:
    """One button as stored, or ``dialog-buttons-invalid`` naming its ``row`` (1-based)."""
    label, link = text.strip(), lower_scheme(url.strip())
    if not label or not link.startswith(SCHEMES):
        raise InvalidInput("dialog-buttons-invalid", line=row)
    return {"text": label[:TEXT_MAX], "url": link}


def _fits(rows: Rows) -> Rows:
    if len(rows) > ROWS_MAX or any(len(r) > PER_ROW_MAX for r in rows):
        raise InvalidInput("dialog-buttons-too-many")
    return rows


def parse_buttons(text: str) -> Rows:
    """The dialog's text: one row per line, buttons in a row split by ``|``, each
    ``Label - https://link``. A single ``-`` removes every button."""
    if text.strip() == "-":
        return []
    rows: Rows = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        row = []
        for part in line.split("|"):
            label, sep, url = part.strip().rpartition(" - ")
            if not sep:
                raise InvalidInput("dialog-buttons-invalid", line=number)
            row.append(button(label, url, number))
        rows.append(row)
    return _fits(rows)


def check_buttons(rows: object) -> Rows:
    """Buttons given as data (a mailing's options, the API): the same rules as typed
    ones, stored the same way. ``None`` or ``[]``: no buttons."""
    if rows is None:
        return []
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise InvalidInput("dialog-buttons-invalid", line=1)
    checked: Rows = []
    for number, row in enumerate(rows, start=1):
        if not row:
            raise InvalidInput("dialog-buttons-invalid", line=number)
        checked.append([_given(one, number) for one in row])
    return _fits(checked)


def _given(one: object, row: int) -> dict[str, str]:
    if not isinstance(one, Mapping):
        raise InvalidInput("dialog-buttons-invalid", line=row)
    text, url = one.get("text"), one.get("url")
    if not isinstance(text, str) or not isinstance(url, str):
        raise InvalidInput("dialog-buttons-invalid", line=row)
    return button(text, url, row)


def url_buttons(rows: Sequence[Sequence[Mapping[str, Any]]] | None) -> list[list[UrlButton]]:
    """The rows a message carries (stored, or rewritten by tracking)."""
    return [[UrlButton(str(b["text"]), str(b["url"])) for b in row] for row in rows or ()]


def button_urls(options: Mapping[str, Any]) -> list[str]:
    """The links of a mailing's buttons, in order (tracking counts their clicks)."""
    rows = options.get("buttons") or []
    return [str(b.get("url", "")) for row in rows for b in row if isinstance(b, dict)]


def rewrite_buttons(
    rows: Sequence[Sequence[Mapping[str, Any]]], replace: Callable[[str], str | None]
) -> list[list[dict[str, Any]]]:
    """``rows`` with each link ``replace`` maps to a new URL (tracking's redirect, UTM
    tags); a link it leaves (None) stays."""
    return [
        [{**b, "url": replace(str(b.get("url", ""))) or b.get("url")} for b in row] for row in rows
    ]
