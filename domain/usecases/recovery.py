"""What a restarted bot mends before it serves: launches a crash cut in two.

``launch.start`` creates a run paused, commits, snapshots its recipients and only then
switches it to running. A crash in between leaves the run paused for ever, its mailing
"running". A person's pause always pauses the mailing with the run, and nobody pauses a
test, so such a run is told apart (``interrupted``): at start-up it is filled again (the
snapshot adds only whoever is missing, with the mailing's targeting, local-time release
and A/B test's split as a launch makes them, and waits for a launch still in progress
elsewhere) and started; a test that never got its one recipient is closed as failed.
"""

from __future__ import annotations

import logging

from domain.ab_test import AB_TEST, ABTest, Split
from domain.clock import Clock, SystemClock
from domain.delivery import RunContent
from domain.mailings import CHANNEL_KINDS, Mailing, MailingStatus
from domain.ports.queue import RunSnapshots
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind
from domain.runs import MailingRun, RunStatus
from domain.segments import local_today
from domain.usecases.launch import release_of, start_run

log = logging.getLogger(__name__)
UNSTARTED = "interrupted before it started"


def interrupted(run: MailingRun, mailing: Mailing | None) -> bool:
    """A run left paused between its creation and its start."""
    if run.status is not RunStatus.paused:
        return False
    if run.is_test:
        return True
    return mailing is not None and mailing.status is MailingStatus.running


async def finish_interrupted_launches(
    uow_factory: UnitOfWorkFactory, queue: RunSnapshots, clock: Clock | None = None
) -> list[MailingRun]:
    """Start (or close) every run a crash left between its creation and its start;
    returns them as they are now."""
    async with uow_factory() as uow:
        paused = await uow.runs.with_status(RunStatus.paused)
        found = [(run, await uow.mailings.get(run.mailing_id)) for run in paused]
    mended: list[MailingRun] = []
    for run, mailing in found:
        if run.id is None or not interrupted(run, mailing):
            continue
        if run.is_test and run.totals.total == 0:
            mended.append(await _close(uow_factory, run.id, clock or SystemClock()))
            continue
        if not run.is_test and mailing is not None:
            content = RunContent.from_json(run.content)
            kinds = [AddressKind(k) for k in CHANNEL_KINDS[content.channel]]
            now = (clock or SystemClock()).now()
            today = local_today(mailing.schedule.timezone, now)
            release = await release_of(uow_factory, mailing, now)
            await queue.snapshot(
                run.id, mailing.list_ids, kinds, mailing.targeting, today, release, _split(run)
            )
        mended.append(await start_run(uow_factory, run.id))
        log.info("Run %s had been left unstarted by a crash: started", run.id)
    return mended


def _split(run: MailingRun) -> Split | None:
    """An A/B run's split, as its launch made it (the same seed: its id)."""
    content = RunContent.from_json(run.content)
    test = ABTest.from_json(content.options.get(AB_TEST)) if content.variants else None
    return test.split(str(run.id)) if test is not None else None


async def _close(uow_factory: UnitOfWorkFactory, run_id: int, clock: Clock) -> MailingRun:
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        run.status, run.note, run.finished_at = RunStatus.failed, UNSTARTED, clock.now()
        await uow.runs.update(run)
        await uow.commit()
    log.info("Test run %s had been left unstarted by a crash: closed", run_id)
    return run
