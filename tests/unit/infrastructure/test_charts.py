"""The statistics charts as a reader sees them: a short run's axis in minutes, legends
beside the data and never over it, times in the configured zone written the reader's way."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.mailings import Channel, Mailing
from domain.runs import MailingRun, RunStatus, RunTotals
from domain.stats import ChannelSummary, DaySends, MinuteSends, Period, RunReport, Sends
from infrastructure.reports.charts import channel_figure, run_figure

MOSCOW = ZoneInfo("Europe/Moscow")
LABELS = {
    **{
        key: key
        for key in ("delivered", "failed", "refused", "pending", "not_sent", "statuses", "rate")
    },
    **{key: key for key in ("per_minute", "per_channel", "per_day", "no_sends")},
    **{p.value: p.value for p in Period},
    **{c.value: c.value for c in Channel},
}
START = datetime(2026, 12, 7, 12, 34, tzinfo=UTC)


def report(minutes: int) -> RunReport:
    run = MailingRun(
        mailing_id=1,
        scheduled_for=START,
        status=RunStatus.completed,
        totals=RunTotals(delivered=40 * minutes, failed=3),
        id=1,
        started_at=START,
    )
    rate = [
        MinuteSends(START + timedelta(minutes=m), Sends(delivered=40, failed=3 if m == 0 else 0))
        for m in range(minutes)
    ]
    return RunReport(
        Mailing(owner_id=1, name="m", channel=Channel.email, id=1),
        run,
        rate,
        [],
        details_removed=False,
    )


def ticks(fig: Any, canvas: Any, axes: int) -> list[str]:
    canvas.draw()
    return [label.get_text() for label in fig.axes[axes].get_xticklabels() if label.get_text()]


@pytest.mark.parametrize("minutes", [1, 3])
def test_a_short_runs_rate_chart_shows_its_minutes_in_the_zone_and_locale(minutes: int) -> None:
    fig, canvas = run_figure(report(minutes), LABELS, MOSCOW, "ru")
    labels = ticks(fig, canvas, 1)
    left, right = fig.axes[1].get_xlim()
    assert (right - left) * 24 * 60 < 30  # minutes, not the years matplotlib widens to
    assert labels and all(len(text) == 5 and text[2] == ":" for text in labels)
    assert any(text.startswith("15:3") for text in labels)  # 12:34 UTC is 15:34 in Moscow
    assert fig.axes[1].get_xlabel() == "7 дек. 2026\u202fг."


def test_english_readers_get_english_times() -> None:
    fig, canvas = run_figure(report(2), LABELS, MOSCOW, "en")
    assert all(text.endswith(("AM", "PM")) for text in ticks(fig, canvas, 1))
    assert fig.axes[1].get_xlabel() == "Dec 7, 2026"


def overlaps(a: Any, b: Any) -> bool:
    return bool(a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1)


def summary() -> ChannelSummary:
    sends = {Channel.email: Sends(delivered=900), Channel.telegram: Sends(delivered=880)}
    days = [
        DaySends(datetime(2026, 12, day, tzinfo=MOSCOW), channel, Sends(delivered=30 * day))
        for day in range(1, 8)
        for channel in (Channel.email, Channel.telegram)
    ]
    return ChannelSummary(
        until=START, periods=dict.fromkeys(Period, sends), daily=days, with_tests=False
    )


def test_legends_never_cover_the_bars_or_the_lines() -> None:
    for fig, canvas in (
        channel_figure(summary(), LABELS, MOSCOW, "ru"),
        run_figure(report(5), LABELS, MOSCOW, "ru"),
    ):
        canvas.draw()
        renderer = canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            box = legend.get_window_extent(renderer)
            assert not overlaps(box, ax.get_window_extent(renderer))
            for patch in ax.patches:
                assert not overlaps(box, patch.get_window_extent(renderer))


def test_the_daily_chart_shows_days_in_the_readers_words() -> None:
    fig, canvas = channel_figure(summary(), LABELS, MOSCOW, "ru")
    labels = ticks(fig, canvas, 1)
    assert labels and all(text.split()[1] == "дек." for text in labels)
    assert "7 дек." in labels or "6 дек." in labels


def test_an_ended_runs_rest_is_drawn_as_not_sent() -> None:
    ended = report(2)
    fig, canvas = run_figure(ended, LABELS, MOSCOW, "ru")
    assert "not_sent" in ticks(fig, canvas, 0) and "pending" not in ticks(fig, canvas, 0)
    running = replace(ended, run=replace(ended.run, status=RunStatus.running))
    fig, canvas = run_figure(running, LABELS, MOSCOW, "ru")
    assert "pending" in ticks(fig, canvas, 0)
