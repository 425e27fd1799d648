"""Clicks per link of a run as a PNG (``domain.ports.engagement.EngagementChart``).

Horizontal bars, one row per link (the most clicked first, at most ``MAX_LINKS``): the
people who clicked it and all its clicks. Drawn like the other charts: matplotlib
imported lazily, in a thread, one drawing at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from domain.engagement import LinkClicks
from infrastructure.reports.charts import _figure, _locked, _no_data, _png

MAX_LINKS = 12
LABEL_MAX = 45
PEOPLE_COLOR = "#2e7d32"
CLICKS_COLOR = "#90caf9"


class MatplotlibLinkChart:
    """Implements ``domain.ports.engagement.EngagementChart``."""

    async def link_chart(self, links: Sequence[LinkClicks], labels: Mapping[str, str]) -> bytes:
        return await asyncio.to_thread(_locked, draw_links, list(links), labels)


def link_label(link: LinkClicks) -> str:
    """``n. host/path``, shortened: the chart has room for a line, not a whole URL."""
    parts = urlsplit(link.url)
    text = (parts.netloc + parts.path).rstrip("/") or link.url
    if len(text) > LABEL_MAX:
        text = text[: LABEL_MAX - 1] + "…"
    return f"{link.index + 1}. {text}"


def draw_links(links: list[LinkClicks], labels: Mapping[str, str]) -> bytes:
    fig, canvas = _figure()
    ax = fig.subplots()
    ax.set_title(labels["per_link"])
    shown = sorted(links, key=lambda link: (-link.clicks, link.index))[:MAX_LINKS]
    if not any(link.clicks for link in shown):
        _no_data(ax, labels["no_clicks"])
        return _png(fig, canvas)
    shown.reverse()  # barh draws bottom-up: the most clicked on top
    rows = range(len(shown))
    height = 0.4
    clicks = ax.barh(
        [y + height / 2 for y in rows],
        [link.clicks for link in shown],
        height=height,
        color=CLICKS_COLOR,
        label=labels["clicks"],
    )
    people = ax.barh(
        [y - height / 2 for y in rows],
        [link.unique_clicks for link in shown],
        height=height,
        color=PEOPLE_COLOR,
        label=labels["people"],
    )
    ax.bar_label(clicks, fontsize="small")
    ax.bar_label(people, fontsize="small")
    ax.set_yticks(list(rows), [link_label(link) for link in shown])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.margins(x=0.12)
    ax.legend(loc="lower right", fontsize="small")
    return _png(fig, canvas)
