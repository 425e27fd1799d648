"""Opens, clicks and bounces of a run, for its statistics screens and progress summary.

Like the rest of the statistics, a manager sees their own mailings' runs only, an admin
everyone's; the figures come from the run's totals (``run_tracking``, ``run_links``),
never from per-recipient rows, so they stay after retention removed those.
"""

from __future__ import annotations

from domain.engagement import EngagementReport, RunEngagement
from domain.mailings import Channel
from domain.ports.stats import EngagementReader
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.stats import load_own_run
from domain.usecases.tracking import run_tracking


async def engagement_report(
    uow_factory: UnitOfWorkFactory,
    reader: EngagementReader,
    actor_id: int,
    mailing_id: int,
    run_id: int | None = None,
) -> EngagementReport:
    """``run_id=None``: the mailing's latest run."""
    async with uow_factory() as uow:
        mailing, run = await load_own_run(uow, actor_id, mailing_id, run_id)
    assert run.id is not None
    tracking = await run_tracking(reader, run.id)
    return EngagementReport(
        mailing=mailing,
        run=run,
        channel=Channel(run.content.get("channel", mailing.channel)),
        engagement=tracking.engagement if tracking else RunEngagement(),
        links=tracking.links if tracking else [],
        tracked=tracking.tracked if tracking else False,
    )


async def run_engagement(reader: EngagementReader, run_id: int) -> RunEngagement:
    """A run's counts after sending, bounces among them (for the run's own progress
    message and the statistics screen that already checked the caller's rights)."""
    return await reader.engagement(run_id)
