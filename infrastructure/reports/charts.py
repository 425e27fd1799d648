"""Statistics charts as PNG images, drawn with matplotlib's object API and Agg canvas.

matplotlib is imported inside the drawing functions only: the delivery workers load this
package through the composition root and must stay small (the import alone costs tens of
megabytes). Drawing runs in a thread so the bot's event loop never waits for it; one lock
keeps drawings one at a time (matplotlib's font cache and text layout are shared).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import tzinfo
from io import BytesIO
from typing import Any

from domain.stats import PERIODS, ChannelSummary, RunReport, Sends

_LOCK = threading.Lock()
STATUS_COLORS = {
    "delivered": "#2e7d32",
    "failed": "#c62828",
    "refused": "#ef6c00",
    "pending": "#9e9e9e",
}
CHANNEL_COLORS = {
    "email": "#1565c0",
    "telegram": "#29b6f6",
    "sendsay": "#8e24aa",
    "webhook": "#6d4c41",
}


class MatplotlibChartDrawer:
    """Implements ``domain.ports.ChartDrawer``."""

    async def run_chart(self, report: RunReport, labels: Mapping[str, str], tz: tzinfo) -> bytes:
        return await asyncio.to_thread(_locked, draw_run, report, labels, tz)

    async def channel_chart(
        self, summary: ChannelSummary, labels: Mapping[str, str], tz: tzinfo
    ) -> bytes:
        return await asyncio.to_thread(_locked, draw_channels, summary, labels, tz)


def _locked(draw: Any, *args: Any) -> bytes:
    with _LOCK:
        return bytes(draw(*args))


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=100, layout="constrained")
    return fig, FigureCanvasAgg(fig)


def _png(fig: Any, canvas: Any) -> bytes:
    buffer = BytesIO()
    canvas.print_png(buffer)
    fig.clear()
    return buffer.getvalue()


def _time_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small")


def _no_data(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#757575")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_run(report: RunReport, labels: Mapping[str, str], tz: tzinfo) -> bytes:
    """Left: counts per status; right: messages per minute over time."""
    fig, canvas = _figure()
    bars, line = fig.subplots(1, 2, width_ratios=(2, 3))
    totals = report.run.totals
    counts = {
        "delivered": totals.delivered,
        "failed": totals.failed,
        "refused": totals.refused,
        "pending": totals.pending + totals.sending,
    }
    drawn = bars.bar(
        [labels[k] for k in counts],
        list(counts.values()),
        color=[STATUS_COLORS[k] for k in counts],
    )
    bars.bar_label(drawn)
    bars.set_title(labels["statuses"])
    bars.margins(y=0.15)
    line.set_title(labels["rate"])
    if report.rate:
        times = [point.minute.astimezone(tz).replace(tzinfo=None) for point in report.rate]
        for key in ("delivered", "failed", "refused"):
            values = [getattr(point.sends, key) for point in report.rate]
            if any(values):
                line.plot(times, values, marker=".", color=STATUS_COLORS[key], label=labels[key])
        line.plot(
            times,
            [point.sends.total for point in report.rate],
            color="#1565c0",
            linewidth=2,
            label=labels["per_minute"],
        )
        _time_axis(line)
    else:
        _no_data(line, labels["no_sends"])
    return _png(fig, canvas)


def draw_channels(summary: ChannelSummary, labels: Mapping[str, str], _tz: tzinfo) -> bytes:
    """Left: sends per channel over the last day, week, month; right: sends per day."""
    fig, canvas = _figure()
    bars, line = fig.subplots(1, 2, width_ratios=(2, 3))
    channels = sorted(
        {c for per in summary.periods.values() for c in per} | {d.channel for d in summary.daily}
    )
    bars.set_title(labels["per_channel"])
    if channels:
        width = 0.8 / len(channels)
        for i, channel in enumerate(channels):
            xs = [n + i * width for n in range(len(PERIODS))]
            ys = [summary.periods[p].get(channel, Sends()).total for p in PERIODS]
            drawn = bars.bar(
                xs, ys, width=width, label=labels[channel.value], color=CHANNEL_COLORS[channel]
            )
            bars.bar_label(drawn, fontsize="small")
        bars.set_xticks(
            [n + width * (len(channels) - 1) / 2 for n in range(len(PERIODS))],
            [labels[p.value] for p in PERIODS],
        )
        bars.legend(fontsize="small")
        bars.margins(y=0.15)
    else:
        _no_data(bars, labels["no_sends"])
    line.set_title(labels["per_day"])
    if summary.daily:
        for channel in channels:
            points = [d for d in summary.daily if d.channel is channel]
            if points:  # days are UTC dates: shown as they are, not shifted into ``tz``
                line.plot(
                    [d.day.replace(tzinfo=None) for d in points],
                    [d.sends.total for d in points],
                    marker="o",
                    color=CHANNEL_COLORS[channel],
                    label=labels[channel.value],
                )
        _time_axis(line)
    else:
        _no_data(line, labels["no_sends"])
    return _png(fig, canvas)
