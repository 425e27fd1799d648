"""Runs as a program reads them: one run, a mailing's runs; only for whoever may see the
mailing (someone else's run looks like a missing one)."""

from __future__ import annotations

from domain.errors import NotFound
from domain.ports import UnitOfWorkFactory
from domain.runs import MailingRun
from domain.usecases.mailings import load_own

RUNS_LIMIT = 100


async def run_of(uow_factory: UnitOfWorkFactory, actor_id: int, run_id: int) -> MailingRun:
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        if run is None:
            raise NotFound("stats-run-not-found")
        try:
            await load_own(uow, actor_id, run.mailing_id)
        except NotFound:
            raise NotFound("stats-run-not-found") from None
        return run


async def runs_of(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int
) -> list[MailingRun]:
    """The mailing's latest runs, newest first (tests and follow-ups included)."""
    async with uow_factory() as uow:
        await load_own(uow, actor_id, mailing_id)
        return await uow.runs.for_mailing(mailing_id, limit=RUNS_LIMIT)
