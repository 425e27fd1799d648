"""Telegram HTML as the events of the standard library's ``HTMLParser``, split fast.

Every letter turns its rendered body into an HTML part and a text part; on that
per-recipient path ``HTMLParser`` cost ~16 µs a pass (it is pure Python, made for any
HTML a browser meets). Telegram's HTML is a small strict subset: a few tags, quoted
attributes, entities. ``html_events`` splits such a body with one regular expression and
hands anything else to ``HTMLParser`` itself: a ``<`` that does not open one of those tags
in that form (a comment, a declaration, an unquoted attribute, any other tag, whose
parsing rules may differ by Python version), so the events are ``HTMLParser``'s either
way (``convert_charrefs=True``: text unescaped, one ``data`` event per run of text; tag and
attribute names lower case; a self-closing tag is a start and an end).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import unescape
from html.parser import HTMLParser
from typing import Literal, Protocol

Attrs = list[tuple[str, str | None]]
Start = tuple[Literal["start"], str, Attrs]
End = tuple[Literal["end"], str]
Data = tuple[Literal["data"], str]
Event = Start | End | Data
Events = Sequence[Event]

# The tags Telegram's HTML has (https://core.telegram.org/bots/api#html-style) and <br>.
TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"}
    | {"a", "tg-emoji", "code", "pre", "blockquote", "br"}
)
_NAME = r"[a-zA-Z][-a-zA-Z0-9]*"
_VALUE = r"""(?:"[^"<>]*"|'[^'<>]*')"""
# <name attr="value" attr='value' attr> (also ending "/>"), or </name>
_TAG_RE = re.compile(rf"<(?:({_NAME})((?:\s+{_NAME}(?:={_VALUE})?)*)\s*(/?)|/({_NAME})\s*)>")
_ATTR_RE = re.compile(rf"\s+({_NAME})(?:=({_VALUE}))?")


class Handler(Protocol):
    def handle_starttag(self, tag: str, attrs: Attrs) -> None: ...
    def handle_endtag(self, tag: str) -> None: ...
    def handle_data(self, data: str) -> None: ...


def replay(html: str | Events, handler: Handler) -> None:
    """``html``'s events (or ``html`` already split: a letter splits its body once for
    both of its parts) handed to ``handler`` as ``HTMLParser`` would call them."""
    for event in html_events(html) if isinstance(html, str) else html:
        if event[0] == "data":
            handler.handle_data(event[1])
        elif event[0] == "start":
            handler.handle_starttag(event[1], event[2])
        else:
            handler.handle_endtag(event[1])


def html_events(html: str) -> list[Event]:
    fast = strict_events(html)
    return fast if fast is not None else parsed_events(html)


def strict_events(html: str) -> list[Event] | None:
    """The events of a body in the strict form; ``None`` for anything else."""
    events: list[Event] = []
    at = 0
    for match in _TAG_RE.finditer(html):
        start = match.start()
        if start > at:
            text = html[at:start]
            if "<" in text:
                return None
            events.append(("data", unescape(text)))
        at = match.end()
        name, attrs, closing, end = match.groups()
        tag = (end or name).lower()
        if tag not in TELEGRAM_TAGS:
            return None
        if end is not None:
            events.append(("end", tag))
            continue
        pairs: Attrs = []
        if attrs:
            for found in _ATTR_RE.finditer(attrs):
                value = found.group(2)
                pairs.append((found.group(1).lower(), unescape(value[1:-1]) if value else None))
        events.append(("start", tag, pairs))
        if closing:
            events.append(("end", tag))
    if at < len(html):
        text = html[at:]
        if "<" in text:
            return None
        events.append(("data", unescape(text)))
    return events


class _Recorder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[Event] = []

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        self.events.append(("start", tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data))


def parsed_events(html: str) -> list[Event]:
    """The events as ``HTMLParser`` makes them, whatever the body holds."""
    recorder = _Recorder()
    recorder.feed(html)
    recorder.close()
    return recorder.events
