"""Statistics and exports of mailings.

A manager sees the statistics of their own mailings only, an admin everyone's; a forged
id of someone else's mailing (or of a run of another mailing) looks like a missing one.
Counts, rates and run history come from the run totals and ``run_minutes``; only the
failure reasons and the per-recipient export read deliveries, which retention may have
removed (``RunReport.details_removed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from domain.answers import answer_labels
from domain.errors import AccessDenied, InvalidInput, NotFound
from domain.mailings import Mailing
from domain.pagination import Page
from domain.ports.stats import ReportWriterFactory, StatsReader
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.runs import NOT_SENT, DeliveryStatus, MailingRun
from domain.stats import (
    PERIODS,
    ChannelSummary,
    ExportFormat,
    ExportRow,
    FailureReason,
    Period,
    RunReport,
)
from domain.usecases.access import require_staff
from domain.usecases.mailings import load_own

HISTORY_PAGE = 8
TOP_REASONS = 5
EXPORT_CHUNK = 1000


async def load_own_run(
    uow: UnitOfWork, actor_id: int, mailing_id: int, run_id: int | None
) -> tuple[Mailing, MailingRun]:
    """A mailing and one of its runs (``run_id=None``: the latest) as ``actor_id`` may
    see them: someone else's mailing, or a run of another mailing, looks missing."""
    _, mailing = await load_own(uow, actor_id, mailing_id)
    if run_id is None:
        run = await uow.runs.last_for_mailing(mailing_id)
        if run is None:
            raise NotFound("stats-no-runs")
    else:
        run = await uow.runs.get(run_id)
        if run is None or run.mailing_id != mailing_id:
            raise NotFound("stats-run-not-found")
    return mailing, run


async def run_report(
    uow_factory: UnitOfWorkFactory,
    stats: StatsReader,
    actor_id: int,
    mailing_id: int,
    run_id: int | None = None,
) -> RunReport:
    """A run's statistics; ``run_id=None`` means the latest run of the mailing."""
    async with uow_factory() as uow:
        mailing, run = await load_own_run(uow, actor_id, mailing_id, run_id)
    assert run.id is not None
    rate = await stats.rate(run.id)
    kept = await stats.has_deliveries(run.id)
    reasons = await stats.failure_reasons(run.id, TOP_REASONS) if kept else []
    twice = await stats.possibly_twice(run.id) if kept else 0
    return RunReport(
        mailing,
        run,
        rate,
        reasons,
        details_removed=not kept and run.totals.total > 0,
        possibly_twice=twice,
    )


async def main_failure(stats: StatsReader, run_id: int) -> FailureReason | None:
    """The most common reason a run's recipients were not reached (for the run's summary;
    the watcher already checked rights)."""
    reasons = await stats.failure_reasons(run_id, 1)
    return reasons[0] if reasons else None


async def run_history(
    uow_factory: UnitOfWorkFactory,
    stats: StatsReader,
    actor_id: int,
    mailing_id: int,
    page: int = 0,
) -> tuple[Mailing, Page[MailingRun]]:
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
    return mailing, await stats.runs_page(mailing_id, page, HISTORY_PAGE)


async def channel_summary(
    uow_factory: UnitOfWorkFactory,
    stats: StatsReader,
    actor_id: int,
    now: datetime,
    tz: tzinfo = UTC,
    *,
    with_tests: bool = False,
) -> ChannelSummary:
    """Admins only: sends per channel over the last day, week and month, and per day in
    ``tz``; test sends are left out unless ``with_tests``."""
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
    if not actor.is_admin:
        raise AccessDenied()
    periods = {
        p: await stats.channel_sends(now - span, with_tests=with_tests)
        for p, span in PERIODS.items()
    }
    since = now - PERIODS[Period.month]
    daily = await stats.daily_sends(since, tz, with_tests=with_tests)
    return ChannelSummary(until=now, periods=periods, daily=daily, with_tests=with_tests)


async def export_run(
    uow_factory: UnitOfWorkFactory,
    stats: StatsReader,
    open_writer: ReportWriterFactory,
    *,
    actor_id: int,
    mailing_id: int,
    run_id: int,
    fmt: ExportFormat,
    dest: Path,
) -> int:
    """Write a run's per-recipient report to ``dest`` in chunks; returns the row count.

    Each chunk is read in a short transaction of its own (``StatsReader``), so a
    million-row report never sits in memory at once nor holds the database for the whole
    write.
    """
    async with uow_factory() as uow:
        _, run = await load_own_run(uow, actor_id, mailing_id, run_id)
    if not await stats.has_deliveries(run_id):
        key = "stats-export-removed" if run.totals.total else "stats-export-empty"
        raise InvalidInput(key)
    labels = answer_labels(dict((run.content or {}).get("options") or {}))
    writer = open_writer(dest, fmt)
    written, after = 0, 0
    try:
        while True:
            rows = await stats.export_rows(run_id, after, EXPORT_CHUNK)
            if not rows:
                break
            if run.ended:  # a cancelled run's rest: never sent, not waiting
                rows = [_not_sent(row) for row in rows]
            rows = [_labelled(row, labels) for row in rows]
            await writer.write(rows)
            written += len(rows)
            after = rows[-1].delivery_id
    finally:
        await writer.close()
    return written


def _labelled(row: ExportRow, labels: Sequence[str]) -> ExportRow:
    """The answer's label (its number if the run's labels do not have it)."""
    option = row.answer_option
    if option is None:
        return row
    return replace(row, answer=labels[option] if 0 <= option < len(labels) else str(option))


def _not_sent(row: ExportRow) -> ExportRow:
    if row.status in (DeliveryStatus.pending, DeliveryStatus.sending):
        return replace(row, status=NOT_SENT)
    return row
