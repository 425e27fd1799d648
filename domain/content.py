"""Message content rules: Telegram HTML, its limits, and placeholders.

Managers type formatted text in Telegram; the bot keeps it as Telegram HTML (the subset
the Bot API accepts: https://core.telegram.org/bots/api#html-style). Broken HTML makes
the Bot API answer 400 "can't parse entities", so it is checked before any launch.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

TEXT_LIMIT = 4096  # characters of a text message, after entities are parsed
CAPTION_LIMIT = 1024  # characters of a media caption
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)


@dataclass(frozen=True, slots=True)
class HtmlProblem:
    """Why the HTML would be refused; ``detail`` names the tag or the position."""

    key: str
    detail: str


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problem: HtmlProblem | None = None
        self.text: list[str] = []

    def _fail(self, key: str, detail: str) -> None:
        if self.problem is None:
            self.problem = HtmlProblem(key, detail)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self._fail("content-html-unknown-tag", tag)
        elif tag == "a" and not dict(attrs).get("href"):
            self._fail("content-html-link-without-href", tag)
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail("content-html-unknown-tag", tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self._fail("content-html-unbalanced", tag)
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def one_line(text: str) -> str:
    """A header value (a subject) on one line: every line break (CR, LF, and the others
    ``str.splitlines`` knows) becomes a space, so a value can never start a new header."""
    return " ".join(text.splitlines())


def check_html(text: str) -> HtmlProblem | None:
    """``None`` if Telegram would accept ``text`` as HTML, else the first problem."""
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.problem is None and checker.stack:
        checker._fail("content-html-unbalanced", checker.stack[-1])
    if checker.problem is None and re.search(r"<(?![a-zA-Z/!])", text):
        checker._fail("content-html-stray-bracket", "<")
    return checker.problem


def visible_text(text: str) -> str:
    """What the recipient sees: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def visible_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(visible_text(text).encode("utf-16-le")) // 2


# Sendsay runs whatever sits between these markers (its template language, PROScript): a
# manager's text containing one would run as code at Sendsay, so it is refused there.
SENDSAY_CODE_MARKERS = ("[%", "%]")
# A placeholder Telegram percent-encoded inside a link's address (%7B%7B … %7D%7D): no
# renderer sees it, and every recipient would get the raw braces.
_ENCODED_PLACEHOLDER = re.compile(r"""href\s*=\s*["'][^"']*%7B%7B""", re.IGNORECASE)


def runs_as_sendsay_code(*texts: str) -> bool:
    return any(marker in text for text in texts for marker in SENDSAY_CODE_MARKERS)


def has_encoded_link_placeholder(body: str) -> bool:
    return _ENCODED_PLACEHOLDER.search(body) is not None
