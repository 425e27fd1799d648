"""Runs as a program reads them: one run, a mailing's runs; only for whoever may see the
mailing (someone else's run looks like a missing one)."""

from __future__ import annotations

from datetime import datetime

from domain.errors import InvalidInput, NotFound
from domain.mailings import visible_to
from domain.ports.stats import StatsReader
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.runs import DeliveryStatus, MailingRun
from domain.stats import ExportRow
from domain.usecases.access import require_staff
from domain.usecases.api_tokens import authenticate_in
from domain.usecases.mailings import load_own
from domain.users import User

RUNS_LIMIT = 100
DELIVERIES_LIMIT = 1000


async def _visible_run(uow: UnitOfWork, actor_id: int, run_id: int) -> MailingRun:
    return await _run_seen_by(uow, await require_staff(uow, actor_id), run_id)


async def _run_seen_by(uow: UnitOfWork, actor: User, run_id: int) -> MailingRun:
    """The run if ``actor`` (staff) may see its mailing (``load_own``'s rule), read with
    the mailing's ownership at once: ``GET /runs/{id}`` is what API clients poll while a
    run sends, and every round trip there waits for the delivery thread's GIL."""
    found = await uow.runs.get_with_ownership(run_id)
    if found is None or not visible_to(found[1], actor):
        raise NotFound("stats-run-not-found")
    return found[0]


async def run_of(uow_factory: UnitOfWorkFactory, actor_id: int, run_id: int) -> MailingRun:
    async with uow_factory() as uow:
        return await _visible_run(uow, actor_id, run_id)


async def run_for_token(
    uow_factory: UnitOfWorkFactory, secret: str, run_id: int, now: datetime
) -> MailingRun:
    """``run_of`` for an API token's owner, the token checked in the same unit of work
    (``authenticate``'s rules): the call clients poll while a run sends takes one
    connection and transaction instead of two, 5 round trips to the database instead of 9."""
    async with uow_factory() as uow:
        return await _run_seen_by(uow, await authenticate_in(uow, secret, now), run_id)


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
