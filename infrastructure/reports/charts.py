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
from datetime import datetime, timedelta, tzinfo
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
    """Implements ``domain.ports.stats.ChartDrawer``."""

    async def run_chart(
        self, report: RunReport, labels: Mapping[str, str], tz: tzinfo, locale: str
    ) -> bytes:
        return await asyncio.to_thread(_locked, draw_run, report, labels, tz, locale)

    async def channel_chart(
        self, summary: ChannelSummary, labels: Mapping[str, str], tz: tzinfo, locale: str
    ) -> bytes:
        return await asyncio.to_thread(_locked, draw_channels, summary, labels, tz, locale)


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


def _legend_below(ax: Any) -> None:
    """Under the plot, outside it: a legend inside would cover bars or points."""
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncols=max(1, len(handles)),
        fontsize="small",
        frameon=False,
    )


def _time_axis(ax: Any, times: list[datetime], step: timedelta, locale: str) -> None:
    """A time axis over ``times`` (naive, already in the reader's time zone) whose points
    are ``step`` apart, labelled as ``locale`` writes times and dates.

    matplotlib widens a single point to years (a one-minute run got a 2025–2029 axis):
    the view spans at least a few steps around the points instead.
    """
    import matplotlib.dates as mdates
    from babel.dates import format_date, format_skeleton, format_time
    from matplotlib.ticker import FuncFormatter

    first, last = min(times), max(times)
    room = max(step * 4 - (last - first), timedelta(0)) / 2 + step / 2
    ax.set_xlim(first - room, last + room)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))  # type: ignore[no-untyped-call]
    span = (last - first) + 2 * room
    if step < timedelta(days=1) and span <= timedelta(days=1):

        def label(value: float, _pos: int | None = None) -> str:
            return format_time(_naive(value), "short", locale=locale)

        ax.set_xlabel(format_date(first, "medium", locale=locale))
    elif step < timedelta(days=1):

        def label(value: float, _pos: int | None = None) -> str:
            moment = _naive(value)
            day = format_skeleton("MMMd", moment, locale=locale)
            return f"{day}\n{format_time(moment, 'short', locale=locale)}"

    else:

        def label(value: float, _pos: int | None = None) -> str:
            return str(format_skeleton("MMMd", _naive(value), locale=locale))

    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.set_ylim(bottom=0)
    _legend_below(ax)


def _naive(value: float) -> datetime:
    import matplotlib.dates as mdates

    moment: datetime = mdates.num2date(value)  # type: ignore[no-untyped-call]
    return moment.replace(tzinfo=None)


def _no_data(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#757575")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_run(report: RunReport, labels: Mapping[str, str], tz: tzinfo, locale: str) -> bytes:
    return _png(*run_figure(report, labels, tz, locale))


def run_figure(
    report: RunReport, labels: Mapping[str, str], tz: tzinfo, locale: str
) -> tuple[Any, Any]:
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
    names = {**labels, "pending": labels["not_sent"]} if report.run.ended else labels
    drawn = bars.bar(
        [names[k] for k in counts],
        list(counts.values()),
        color=[STATUS_COLORS[k] for k in counts],
    )
    bars.bar_label(drawn)
    bars.set_title(labels["statuses"])
    bars.margins(y=0.15)
    line.set_title(labels["rate"])
    if report.rate:
        times = [_local(point.minute, tz) for point in report.rate]
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
        _time_axis(line, times, timedelta(minutes=1), locale)
    else:
        _no_data(line, labels["no_sends"])
    return fig, canvas


def draw_channels(
    summary: ChannelSummary, labels: Mapping[str, str], tz: tzinfo, locale: str
) -> bytes:
    return _png(*channel_figure(summary, labels, tz, locale))


def channel_figure(
    summary: ChannelSummary, labels: Mapping[str, str], tz: tzinfo, locale: str
) -> tuple[Any, Any]:
    """Left: sends per channel over the last day, week, month; right: sends per day (days
    of ``tz``)."""
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
        _legend_below(bars)
        bars.margins(y=0.15)
    else:
        _no_data(bars, labels["no_sends"])
    line.set_title(labels["per_day"])
    if summary.daily:
        for channel in channels:
            points = [d for d in summary.daily if d.channel is channel]
            if points:
                line.plot(
                    [_local(d.day, tz) for d in points],
                    [d.sends.total for d in points],
                    marker="o",
                    color=CHANNEL_COLORS[channel],
                    label=labels[channel.value],
                )
        days = [_local(d.day, tz) for d in summary.daily]
        _time_axis(line, days, timedelta(days=1), locale)
    else:
        _no_data(line, labels["no_sends"])
    return fig, canvas


def _local(moment: datetime, tz: tzinfo) -> datetime:
    """matplotlib draws naive times as they are: the reader's time zone, taken off."""
    return moment.astimezone(tz).replace(tzinfo=None)
