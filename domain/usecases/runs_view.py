"""Runs as a program reads them: one run, a mailing's runs; only for whoever may see the
mailing (someone else's run looks like a missing one)."""

from __future__ import annotations

from domain.errors import InvalidInput, NotFound
from domain.ports.stats import StatsReader
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.runs import DeliveryStatus, MailingRun
from domain.stats import ExportRow
from domain.usecases.mailings import load_own

RUNS_LIMIT = 100
DELIVERIES_LIMIT = 1000


async def _visible_run(uow: UnitOfWork, actor_id: int, run_id: int) -> MailingRun:
    run = await uow.runs.get(run_id)
    if run is None:
        raise NotFound("stats-run-not-found")
    try:
        await load_own(uow, actor_id, run.mailing_id)
    except NotFound:
        raise NotFound("stats-run-not-found") from None
    return run


async def run_of(uow_factory: UnitOfWorkFactory, actor_id: int, run_id: int) -> MailingRun:
    async with uow_factory() as uow:
        return await _visible_run(uow, actor_id, run_id)


async def deliveries_of(
    uow_factory: UnitOfWorkFactory,
    stats: StatsReader,
    actor_id: int,
    run_id: int,
    *,
    after_id: int,
    limit: int,
    status: DeliveryStatus | None = None,
) -> list[ExportRow]:
    """A page of the run's recipients by delivery id (a cursor that sending cannot move:
    ids never change, only statuses)."""
    if not 1 <= limit <= DELIVERIES_LIMIT:
        raise InvalidInput("api-limit-invalid", max=DELIVERIES_LIMIT)
    async with uow_factory() as uow:
        await _visible_run(uow, actor_id, run_id)
    return await stats.export_rows(run_id, max(after_id, 0), limit, status)


async def runs_of(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int
) -> list[MailingRun]:
    """The mailing's latest runs, newest first (tests and follow-ups included)."""
    async with uow_factory() as uow:
        await load_own(uow, actor_id, mailing_id)
        return await uow.runs.for_mailing(mailing_id, limit=RUNS_LIMIT)
