"""Statistics as they are shown and exported (``usecases.stats``, ``runs_view``,
``follow_ups``): the read side, outside the unit of work.

A use case checks who may see a run in a unit of work, then reads the figures through
``StatsReader``, each call a short read of its own: a chart or a million-row export never
holds the transaction that checked the rights, and the write side's ``UnitOfWork`` carries
no display queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Protocol

from domain.engagement import LinkClicks, RunEngagement
from domain.mailings import Channel
from domain.pagination import Page
from domain.runs import (
    DeliveryStatus,
    MailingRun,
)
from domain.stats import (
    ChannelSummary,
    DaySends,
    ExportFormat,
    ExportRow,
    FailureReason,
    MinuteSends,
    RunReport,
    Sends,
)


class StatsReader(Protocol):
    """The read side of statistics; every call is a short read-only transaction of its
    own. Counts, rates and run history come from the run totals and ``run_minutes`` only;
    just ``failure_reasons``, ``has_deliveries``, ``possibly_twice`` and ``export_rows``
    read the per-recipient deliveries (which retention may remove)."""

    async def runs_page(self, mailing_id: int, page: int, size: int) -> Page[MailingRun]:
        """0-based page of a mailing's runs, newest slot first."""
        ...

    async def rate(self, run_id: int) -> list[MinuteSends]:
        """Final results per minute, oldest first."""
        ...

    async def failure_reasons(self, run_id: int, limit: int) -> list[FailureReason]:
        """The most frequent (status, last error) of failed and refused deliveries."""
        ...

    async def has_deliveries(self, run_id: int) -> bool: ...

    async def possibly_twice(self, run_id: int) -> int:
        """Delivered deliveries that had an attempt whose answer was lost (``answer_lost``):
        their recipients may have the message twice."""
        ...

    async def channel_sends(
        self, since: datetime, *, with_tests: bool = False
    ) -> dict[Channel, Sends]:
        """Final results per channel in minutes at or after ``since``; test sends only
        ``with_tests``."""
        ...

    async def daily_sends(
        self, since: datetime, tz: tzinfo, *, with_tests: bool = False
    ) -> list[DaySends]:
        """Final results per day in ``tz`` and channel since ``since``, oldest day first;
        test sends only ``with_tests``."""
        ...

    async def export_rows(
        self, run_id: int, after_id: int, limit: int, status: DeliveryStatus | None = None
    ) -> list[ExportRow]:
        """Up to ``limit`` deliveries of the run with ids above ``after_id``, by id: a
        report is read in chunks, never all at once (``status``: only those in it). Ids
        never change, so paging by them is stable while the run sends."""
        ...


class EngagementReader(Protocol):
    """A run's opens, clicks and bounces as the statistics screens and the progress
    summary show them, from the run's totals (``run_tracking``, ``run_links``: they stay
    after retention); every call a short read-only transaction of its own."""

    async def run_content(self, run_id: int) -> dict[str, object] | None:
        """The run's frozen content (``RunContent.to_json``), ``None`` if the run is gone."""
        ...

    async def engagement(self, run_id: int) -> RunEngagement: ...

    async def link_clicks(self, run_id: int) -> dict[int, LinkClicks]:
        """Per-link totals by index (``url`` left empty: it lives in the run's content)."""
        ...


class ReportWriter(Protocol):
    """A per-recipient report file being written chunk by chunk (CSV or XLSX).

    Cells that a spreadsheet would read as a formula are escaped. Blocking work runs in a
    thread, so the bot keeps answering while a big report is written.
    """

    async def write(self, rows: Sequence[ExportRow]) -> None: ...

    async def close(self) -> None:
        """Finish the file; it is complete only after this returns."""
        ...


ReportWriterFactory = Callable[[Path, ExportFormat], ReportWriter]


class ChartDrawer(Protocol):
    """Draws statistics as PNG images, in a thread (never blocking the event loop).

    ``labels`` carries the texts shown on the chart, already in the reader's language
    (keys: delivered, failed, refused, pending, not_sent, statuses, rate, per_minute, day, week,
    month, per_channel, per_day, no_sends, and the channel values); times are shown in ``tz``,
    dates and times written the way ``locale`` (a Babel locale name) writes them.
    """

    async def run_chart(
        self, report: RunReport, labels: Mapping[str, str], tz: tzinfo, locale: str
    ) -> bytes: ...

    async def channel_chart(
        self, summary: ChannelSummary, labels: Mapping[str, str], tz: tzinfo, locale: str
    ) -> bytes: ...
