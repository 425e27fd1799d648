"""A letter's two parts (email HTML and plain text) converted once per template.

Every letter of a run converts its rendered body into an HTML part and a text part
(``html_events``, ``telegram_html_to_email_html``, ``html_to_text``: ~8 µs a letter).
When the template is text with ``{{ name }}`` placeholders, the letters differ only in
the values filled in, so the template is converted once with a marker in each value's
place and each letter's parts are the markers replaced by its values.

That is exact only where a value cannot change how the body reads, so the plan is used
only when all of this holds (anything else converts the body as before):

* the letter's body is the template's text with each placeholder replaced by a value
  (checked on every letter, against the body itself, whatever made it);
* each value is non-empty, starts and ends with a character that is not white space,
  and holds no line break, control character, ``&``, ``;``, ``<``, ``>``, ``"`` or
  ``'``: nothing that reads as markup or an entity, is escaped differently in the HTML
  part, stripped at a line's or the text's end, or turned into ``<br>``;
* the template holds no other Jinja syntax and does not end in a line break;
* with its markers the template splits in the strict form (``strict_events``), every
  marker lands in text (not in a tag or attribute), outside a link (the text part
  compares a link's text with its target), and once in each part; no text before a
  placeholder ends in what could begin an entity (``&`` and a name), which the value
  could complete.

Under these, a value's characters come out in both parts as they went in, wherever it
stands, so the markers' replacement gives the same bytes as converting the body.
"""

from __future__ import annotations

import re

from infrastructure.rendering.email_html import telegram_html_to_email_html
from infrastructure.rendering.html_events import strict_events
from infrastructure.rendering.plaintext import html_to_text

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MARKER = re.compile("\x00([0-9]+)\x00")
# The start of an entity that the next characters could complete (html.unescape's names).
_OPEN_ENTITY = re.compile(r"&[^\t\n\f <&;]*\Z")
_EDGE = r"[^\s&;<>\"'\x00-\x1f\x7f]"
_VALUE = rf"({_EDGE}(?:[^&;<>\"'\x00-\x1f\x7f\x85\u2028\u2029]*?{_EDGE})?)"
MAX_PLACEHOLDERS = 16


class TemplateParts:
    """The two parts of a template's letters, with a gap where each value goes."""

    __slots__ = ("_body", "_html", "_text")

    def __init__(self, body: re.Pattern[str], html: list[str], text: list[str]) -> None:
        self._body = body
        self._html = html  # literal, value index, literal, value index, ... literal
        self._text = text

    @classmethod
    def of(cls, template: str) -> TemplateParts | None:
        """The plan of ``template``, or ``None`` where it cannot be exact."""
        if "\x00" in template or template.endswith("\n"):  # Jinja drops a last newline
            return None
        literals = _PLACEHOLDER.split(template)[::2]
        if any(mark in text for text in literals for mark in ("{{", "{%", "{#")):
            return None  # filters, tags, comments: only Jinja knows the text
        count = len(literals) - 1
        if count == 0 or count > MAX_PLACEHOLDERS:
            return None
        if any(_OPEN_ENTITY.search(text) for text in literals[:-1]):
            return None
        marked = "".join(
            text + (f"\x00{i}\x00" if i < count else "") for i, text in enumerate(literals)
        )
        events = strict_events(marked)
        if events is None:
            return None
        links = 0
        for event in events:
            if event[0] == "start":
                if any("\x00" in f"{name}{value}" for name, value in event[2]):
                    return None
                links += event[1] == "a"
            elif event[0] == "end":
                links -= event[1] == "a"
            elif links and "\x00" in event[1]:
                return None
        html = _MARKER.split(telegram_html_to_email_html(events))
        text = _MARKER.split(html_to_text(events))
        expected = [str(i) for i in range(count)]
        if html[1::2] != expected or text[1::2] != expected:
            return None
        body = re.compile(_VALUE.join(re.escape(text) for text in literals), re.DOTALL)
        return cls(body, html, text)

    def parts(self, body: str) -> tuple[str, str] | None:
        """The HTML and text parts of ``body``, or ``None`` if it is not this template
        filled with values as above."""
        found = self._body.fullmatch(body)
        if found is None:
            return None
        values = found.groups()
        return _fill(self._html, values), _fill(self._text, values)


def _fill(pieces: list[str], values: tuple[str, ...]) -> str:
    out = pieces.copy()
    out[1::2] = values
    return "".join(out)
