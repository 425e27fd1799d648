"""A channel that cannot send at all stops its run at once (issue 17, point 3).

An untrusted certificate, AUTH refused or a 5xx on MAIL FROM will not heal by itself:
retrying it five times over minutes only fails every recipient in turn. The worker pauses
the run with the reason instead (``problem``, shown in the chat in the manager's
language), its unsent rows go back to pending, and once the settings are fixed Resume
sends the rest. A test send fails at once with the reason instead.
"""

from __future__ import annotations

import logging

from domain.mailings import MailingStatus
from domain.outage import UNREACHABLE
from domain.ports.uow import UnitOfWorkFactory
from domain.runs import RunStatus
from domain.usecases.access import record

log = logging.getLogger(__name__)


async def halt_run(uow_factory: UnitOfWorkFactory, run_id: int, problem: str) -> bool:
    """Pause a running run (and its mailing) with ``problem``; whether it was running."""
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        if run is None or run.status is not RunStatus.running:
            return False
        run.status, run.problem = RunStatus.paused, problem
        await uow.runs.update(run)
        mailing = (
            None if run.is_test or run.is_follow_up else await uow.mailings.get(run.mailing_id)
        )
        if mailing is not None and mailing.status is MailingStatus.running:
            mailing.pause()
            await uow.mailings.update(mailing)
        await record(uow, None, "run.halt", ("mailing", run.mailing_id), {"run": run_id})
        await uow.commit()
    log.warning(
        "Run %s of mailing %s paused: its channel cannot send (%s)",
        run_id,
        run.mailing_id,
        problem,
        extra={"mailing_id": run.mailing_id, "run_id": run_id},
    )
    return True


async def note_unreachable(uow_factory: UnitOfWorkFactory, run_id: int, problem: str) -> None:
    """A running run held up by a channel that cannot be reached (``domain.outage``):
    ``problem`` is kept on it, so the manager is told (the run goes on waiting)."""
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        if run is None or run.status is not RunStatus.running or run.problem:
            return
        run.problem = problem
        await uow.runs.update(run)
        await uow.commit()


async def clear_unreachable(uow_factory: UnitOfWorkFactory, run_ids: set[int]) -> None:
    """The channel is back: the runs noted by ``note_unreachable`` lose their problem."""
    async with uow_factory() as uow:
        for run_id in sorted(run_ids):
            run = await uow.runs.get(run_id)
            if run is not None and (run.problem or "").startswith(UNREACHABLE):
                run.problem = None
                await uow.runs.update(run)
        await uow.commit()
