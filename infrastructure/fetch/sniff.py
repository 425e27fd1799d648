"""Telling an HTML page from a table by its first bytes.

A private Google Sheet answers its export link with a login page, often as
``200 text/html`` but sometimes with a neutral content type; the body gives it away.
"""

from __future__ import annotations

HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MARKERS = (b"<!doctype html", b"<html")
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n\f\v"
# Enough to see past leading whitespace; a table never starts with this much of it.
_MAX_HEAD = 4096
_ENOUGH = max(len(marker) for marker in _MARKERS)


class HtmlSniffer:
    """Fed the body chunk by chunk; ``is_html`` is decided as early as possible."""

    def __init__(self) -> None:
        self._head = b""
        self.decided = False
        self.is_html = False

    def feed(self, chunk: bytes) -> None:
        if self.decided:
            return
        self._head += chunk[:_MAX_HEAD]
        text = self._text()
        if len(text) >= _ENOUGH or len(self._head) >= _MAX_HEAD:
            self._decide(text)

    def finish(self) -> None:
        if not self.decided:
            self._decide(self._text())

    def _text(self) -> bytes:
        head = self._head.removeprefix(_BOM)
        return head.lstrip(_WHITESPACE)[:_ENOUGH].lower()

    def _decide(self, text: bytes) -> None:
        self.decided = True
        self.is_html = text.startswith(_MARKERS)
