"""Runs as a program reads them: one run, a mailing's runs; only for whoever may see the
mailing (someone else's run looks like a missing one)."""

from __future__ import annotations

from datetime import datetime

from domain.api_tokens import hash_secret
from domain.errors import InvalidInput, NotFound, Unauthenticated
from domain.mailings import Ownership, visible_to
from domain.ports.api import TokenRunReader
from domain.ports.stats import StatsReader
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.runs import DeliveryStatus, MailingRun
from domain.stats import ExportRow
from domain.usecases.access import require_staff
from domain.usecases.api_tokens import note_use, token_owner
from domain.usecases.mailings import load_own
from domain.users import User

RUNS_LIMIT = 100
DELIVERIES_LIMIT = 1000


async def _visible_run(uow: UnitOfWork, actor_id: int, run_id: int) -> MailingRun:
    actor = await require_staff(uow, actor_id)
    return _seen_by(actor, await uow.runs.get_with_ownership(run_id))


def _seen_by(actor: User, found: tuple[MailingRun, Ownership] | None) -> MailingRun:
    """The run found with its mailing's ownership if ``actor`` (staff) may see that
    mailing (``load_own``'s rule); someone else's run looks like a missing one."""
    if found is None or not visible_to(found[1], actor):
        raise NotFound("stats-run-not-found")
    return found[0]


async def run_of(uow_factory: UnitOfWorkFactory, actor_id: int, run_id: int) -> MailingRun:
    async with uow_factory() as uow:
        return await _visible_run(uow, actor_id, run_id)


async def run_for_token(
    uow_factory: UnitOfWorkFactory,
    reader: TokenRunReader,
    secret: str,
    run_id: int,
    now: datetime,
) -> MailingRun:
    """``run_of`` for an API token's owner (``authenticate``'s rules), the token and the
    run read together in one statement outside any unit of work: clients poll this while
    a run sends, and in the bot's process every round trip to the database waits for the
    delivery thread to hand back the interpreter. One round trip instead of five (ping,
    BEGIN, token and owner, run, ROLLBACK)."""
    found = await reader.token_and_run(hash_secret(secret), run_id)
    if found is None:
        raise Unauthenticated()
    token, owner, run = found
    user = token_owner(token, owner)
    await note_use(uow_factory, token, now)
    return _seen_by(user, run)


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
