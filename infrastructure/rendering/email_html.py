"""Telegram HTML wrapped into a minimal, email-safe HTML document (the ``text/html`` part).

Telegram keeps line breaks as newlines and has tags email clients do not know, so:
newlines become ``<br>`` (except inside ``<pre>``), spoilers become a shaded ``<span>``
(email cannot hide and reveal), custom emoji become their plain emoji, quotes get an
inline style (clients drop ``<style>`` blocks), and only web and mail links stay links.
Every attribute Telegram does not need is dropped and text is re-escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from infrastructure.rendering.html_events import Attrs, Events, replay

_PLAIN_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code"})
_BLOCKS = ("blockquote", "pre")
_BR = "<br>\n"
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_SPOILER = '<span style="background-color:#d9d9d9;color:#333333">'
_QUOTE = '<blockquote style="margin:0 0 0 4px;padding-left:10px;border-left:3px solid #cccccc">'
_PRE = '<pre style="white-space:pre-wrap;font-family:monospace">'
_DOCUMENT = (
    '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n</head>\n'
    '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5">\n'
    "{body}\n</body>\n</html>\n"
)


def is_web_link(href: str) -> bool:
    return href.lower().startswith(_LINK_SCHEMES)


class _EmailWriter:
    def __init__(self, link_ok: Callable[[str], bool] = is_web_link) -> None:
        self._link_ok = link_ok
        self.parts: list[str] = []
        self._closers: list[tuple[str, str]] = []  # (tag, what closes it in the output)
        self._pre_depth = 0
        self._after_block = False

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        if tag == "br":
            self.handle_data("\n")
            return
        opening, closing = self._translate(tag, dict(attrs))
        if tag in _BLOCKS and self.parts and self.parts[-1].endswith(_BR):
            # A block starts on its own line anyway; the newline before it is not a blank line.
            self.parts[-1] = self.parts[-1].removesuffix(_BR) + "\n"
        self._pre_depth += tag == "pre"
        self.parts.append(opening)
        self._closers.append((tag, closing))

    def _translate(self, tag: str, attrs: dict[str, str | None]) -> tuple[str, str]:
        if tag in _PLAIN_TAGS:
            return f"<{tag}>", f"</{tag}>"
        if tag == "tg-spoiler" or (tag == "span" and attrs.get("class") == "tg-spoiler"):
            return _SPOILER, "</span>"
        if tag == "blockquote":
            return _QUOTE, "</blockquote>"
        if tag == "pre":
            return _PRE, "</pre>"
        href = attrs.get("href") or ""
        if tag == "a" and self._link_ok(href):
            return f'<a href="{escape(href)}">', "</a>"
        return "", ""  # tg-emoji, tg:// links, plain spans, unknown tags: text only

    def handle_endtag(self, tag: str) -> None:
        if not self._closers or self._closers[-1][0] != tag:
            return  # unbalanced input was refused before launch; never emit a stray closer
        _, closing = self._closers.pop()
        self._pre_depth -= tag == "pre"
        self._after_block = tag in _BLOCKS
        self.parts.append(closing)

    def handle_data(self, data: str) -> None:
        if self._after_block and data.startswith("\n"):
            data = data[1:]  # the block already ended the line
        self._after_block = False
        text = escape(data, quote=False)
        self.parts.append(text if self._pre_depth else text.replace("\n", _BR))

    def finish(self) -> str:
        return "".join(self.parts + [closing for _, closing in reversed(self._closers)])


def telegram_html_to_email_html(
    html: str | Events, link_ok: Callable[[str], bool] = is_web_link
) -> str:
    """``html``, or its ``html_events`` (a letter reads its body once for both parts);
    ``link_ok`` says which ``href`` stays a link (a template's placeholder may, for a
    provider that fills it in later)."""
    writer = _EmailWriter(link_ok)
    replay(html, writer)
    return _DOCUMENT.format(body=writer.finish())
