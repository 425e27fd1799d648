"""Telegram HTML as readable plain text: the ``text/plain`` alternative of an email.

Formatting is dropped, links become ``text (url)``, spoilers are simply shown, quotes are
prefixed with ``> ``, ``<pre>`` keeps its lines, and both stand on lines of their own.
Entities are decoded.
"""

from __future__ import annotations

from infrastructure.rendering.html_events import Attrs, Events, replay

# Links whose target means nothing outside Telegram (a user mention) keep only their text.
_HIDDEN_SCHEMES = ("tg:",)
_BLOCKS = ("blockquote", "pre")


class _TextWriter:
    def __init__(self) -> None:
        self.parts: list[str] = []
        # For every open <a> or <blockquote>: where its text starts, and the link target.
        self._open: list[tuple[str, int, str]] = []
        self._after_block = False

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        if tag == "br":
            self.handle_data("\n")
            return
        if tag in _BLOCKS:
            self._line_break()
        if tag in ("a", "blockquote"):
            self._open.append((tag, len(self.parts), dict(attrs).get("href") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._after_block = True
        if not self._open or self._open[-1][0] != tag:
            return
        _, start, href = self._open.pop()
        inner = "".join(self.parts[start:])
        if tag == "a":
            shown = href.removeprefix("mailto:")
            if shown and shown != inner.strip() and not href.startswith(_HIDDEN_SCHEMES):
                inner = f"{inner} ({shown})"
        else:
            inner = "\n".join(f"> {line}".rstrip() for line in inner.strip("\n").split("\n"))
            self._after_block = True
        self.parts[start:] = [inner]

    def handle_data(self, data: str) -> None:
        if self._after_block and not data.startswith("\n"):
            self.parts.append("\n")
        self._after_block = False
        self.parts.append(data)

    def _line_break(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")


def html_to_text(html: str | Events) -> str:
    """``html``, or its ``html_events`` (a letter reads its body once for both parts)."""
    writer = _TextWriter()
    replay(html, writer)
    return "".join(writer.parts).strip()
