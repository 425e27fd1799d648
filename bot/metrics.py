"""Prometheus metrics of one process, on a registry of its own (never the global one).

Database figures are read at scrape time (``infrastructure.db.figures``) and handed to a
custom collector, so every scrape shows the run totals as they are in the database, the
same from the bot and from any ``mailforge worker``. In-process events (Telegram's 429
answers) are ordinary counters. Labels are channels and statuses only: no personal data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.mailings import Channel
from domain.runs import RunStatus
from infrastructure.db.figures import STATUSES, Figures, SqlFigures

log = logging.getLogger(__name__)
READ_TIMEOUT = 3.0


class DatabaseCollector(Collector):
    """Turns the last ``Figures`` read into metric families (``None``: database down)."""

    def __init__(self) -> None:
        self.figures: Figures | None = None

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("mailforge_database_up", "1 if the database answered the scrape")
        up.add_metric([], 0.0 if self.figures is None else 1.0)
        yield up
        if self.figures is None:
            return
        fig = self.figures
        messages = GaugeMetricFamily(
            "mailforge_messages",
            "Recipients of all runs by channel and delivery status (from the run totals)",
            labels=["channel", "status"],
        )
        for channel in Channel:
            for status in STATUSES:
                count = fig.messages.get((channel.value, status), 0)
                messages.add_metric([channel.value, status], count)
        yield messages
        depth = GaugeMetricFamily(
            "mailforge_queue_depth", "Deliveries of running runs waiting to be sent"
        )
        depth.add_metric([], fig.queue_depth)
        yield depth
        runs = GaugeMetricFamily("mailforge_runs", "Runs by status", labels=["status"])
        for run_status in RunStatus:
            runs.add_metric([run_status.value], fig.runs.get(run_status.value, 0))
        yield runs
        yield _durations(fig)


def _durations(fig: Figures) -> HistogramMetricFamily:
    d = fig.durations
    buckets = [(_bound(b), float(n)) for b, n in zip(d.bounds, d.buckets, strict=True)]
    buckets.append(("+Inf", float(d.count)))
    return HistogramMetricFamily(
        "mailforge_run_duration_seconds",
        "Time from start to end of finished runs",
        buckets=buckets,
        sum_value=d.total_seconds,
    )


def _bound(value: float) -> str:
    return repr(float(value))


class Metrics:
    def __init__(self, figures: SqlFigures) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._figures = figures
        self._database = DatabaseCollector()
        self.registry.register(self._database)
        self.telegram_retry_after = Counter(
            "mailforge_telegram_retry_after",
            "Telegram 429 answers (flood control) seen by this process",
            registry=self.registry,
        )

    def on_retry_after(self, seconds: float) -> None:
        self.telegram_retry_after.inc()

    async def render(self) -> bytes:
        """The text exposition format, with the database figures read just now."""
        try:
            figures: Figures | None = await asyncio.wait_for(self._figures.read(), READ_TIMEOUT)
        except Exception as exc:  # a scrape still answers: database_up says what happened
            log.warning("Metrics: database figures unavailable (%s)", type(exc).__name__)
            figures = None
        # No await between setting and rendering: concurrent scrapes cannot mix figures.
        self._database.figures = figures
        return generate_latest(self.registry)
