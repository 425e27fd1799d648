"""Opens, clicks and UTM tags: the rules, free of any web framework.

At launch the run's content keeps the list of links it sends (``RunContent.links``): the
``href`` of every ``<a>`` in the text and every URL button, in order, without those built
from placeholders (one address per recipient: they are sent as they are, untracked).
A tracked link is ``/c/<run>-<delivery>-<index>-<mac>`` on the bot's web server: the
redirect goes only to the run's link of that index, so nobody can make it an open
redirect, and a changed token fails its MAC. The open pixel is ``/o/<run>-<delivery>-<mac>``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from domain.buttons import button_urls
from domain.signing import Signer

OPEN_PATH = "/o/{token}"
CLICK_PATH = "/c/{token}"
_OPEN_PURPOSE = b"mailforge-open:"
_CLICK_PURPOSE = b"mailforge-click:"
# A link scanner (a mail gateway, a messenger's preview) fetches links as the message
# arrives; a person needs longer than this to read and click.
BOT_WINDOW = timedelta(seconds=1)
_HREF_RE = re.compile(r'(<a\s[^>]*?href=")([^"]*)(")', re.IGNORECASE)
UTM_SOURCE = "mailforge"
_LATIN = "a b v g d e e zh z i y k l m n o p r s t u f h ts ch sh sch - y - e yu ya"
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN.split(" "), strict=True))


def is_trackable(url: str) -> bool:
    """An http(s) link that does not come from a placeholder."""
    if "{{" in url or "{%" in url:
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def body_links(body: str) -> list[str]:
    return [html.unescape(m.group(2)) for m in _HREF_RE.finditer(body)]


def run_links(body: str, options: dict[str, Any]) -> tuple[str, ...]:
    """The trackable links a run sends, each once, in order of first appearance."""
    seen: dict[str, None] = {}
    for url in [*body_links(body), *button_urls(options)]:
        if is_trackable(url):
            seen.setdefault(url, None)
    return tuple(seen)


def slug(name: str, fallback: str) -> str:
    """``utm_campaign`` from a mailing's name: lower-case Latin, digits and ``-``."""
    text = "".join(_TRANSLIT.get(ch, ch) for ch in name.lower()).replace("-", " ")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", text)
    return "-".join(words)[:60].strip("-") or fallback


def with_utm(url: str, *, medium: str, campaign: str, content: str | None = None) -> str:
    """``url`` with UTM tags appended, unless it carries any ``utm_`` tag already."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key.lower().startswith("utm_") for key, _ in query):
        return url
    tags = [("utm_source", UTM_SOURCE), ("utm_medium", medium), ("utm_campaign", campaign)]
    if content:
        tags.append(("utm_content", content))
    joined = f"{parts.query}&{urlencode(tags)}" if parts.query else urlencode(tags)
    return urlunsplit(parts._replace(query=joined))


def replace_links(body: str, replace: Callable[[str], str | None]) -> str:
    """``body`` (Telegram HTML) with each ``href`` that ``replace`` maps to a new URL."""

    def swap(match: re.Match[str]) -> str:
        new = replace(html.unescape(match.group(2)))
        if new is None:
            return match.group(0)
        return f"{match.group(1)}{html.escape(new, quote=True)}{match.group(3)}"

    return _HREF_RE.sub(swap, body)


def probable_bot(clicked_at: datetime, delivered_at: datetime | None) -> bool:
    """A click before the delivery was recorded, or within ``BOT_WINDOW`` after."""
    return delivered_at is not None and clicked_at < delivered_at + BOT_WINDOW


@dataclass(frozen=True, slots=True)
class OpenRef:
    run_id: int
    delivery_id: int


@dataclass(frozen=True, slots=True)
class ClickRef:
    run_id: int
    delivery_id: int
    index: int


class TrackingUrls:
    """Signed pixel and redirect URLs on ``base_url`` (``PUBLIC_BASE_URL``)."""

    def __init__(self, signer: Signer, base_url: str) -> None:
        self._signer = signer
        self._base = base_url.rstrip("/")

    def open_url(self, run_id: int, delivery_id: int) -> str:
        token = self._signer.compact(_OPEN_PURPOSE, run_id, delivery_id)
        return self._base + OPEN_PATH.format(token=token)

    def click_url(self, run_id: int, delivery_id: int, index: int) -> str:
        token = self._signer.compact(_CLICK_PURPOSE, run_id, delivery_id, index)
        return self._base + CLICK_PATH.format(token=token)

    def read_open(self, token: str) -> OpenRef | None:
        found = self._signer.read_compact(_OPEN_PURPOSE, token.removesuffix(".gif"), 2)
        return OpenRef(*found) if found else None

    def read_click(self, token: str) -> ClickRef | None:
        found = self._signer.read_compact(_CLICK_PURPOSE, token, 3)
        return ClickRef(*found) if found else None


def link_targets(links: Iterable[str], utm: UtmTags | None) -> list[str]:
    """Where each of a run's links leads: itself, with UTM tags when they are on."""
    return [utm.apply(url) if utm else url for url in links]


@dataclass(frozen=True, slots=True)
class UtmTags:
    medium: str  # email | telegram
    campaign: str
    content: str | None = None

    def apply(self, url: str) -> str:
        return with_utm(url, medium=self.medium, campaign=self.campaign, content=self.content)
