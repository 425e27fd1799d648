"""``SOFT_BOUNCE_LIMIT`` soft bounces in a row suppress an address: mailing after mailing,
with nothing that got through in between. Real bounce samples, the real classifier and
the use case on the real database (PostgreSQL and SQLite)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.bounces import BounceKind
from domain.ports.uow import UnitOfWorkFactory
from domain.signing import Signer
from domain.tracking import TrackingUrls
from domain.usecases.bounces import apply_bounce
from domain.usecases.tracking import Tracker
from infrastructure.bounces import BounceClassifier
from tests.integration.bounces.helpers import (
    SECRET,
    VERP,
    address_state,
    delivered_run,
    sample,
)
from tests.integration.db.test_queue import T0

MARIA = "maria.ivanova@gmail.com"  # the Gmail "over quota" sample is about her
LIMIT = 3


async def mailing(uow_factory: UnitOfWorkFactory, engine: AsyncEngine, n: int) -> int:
    """The n-th mailing to Maria, relay-accepted; its delivery id."""
    _, ids = await delivered_run(uow_factory, engine, [MARIA], T0 + timedelta(days=n))
    return ids[MARIA]


async def soft_bounce(uow_factory: UnitOfWorkFactory, delivery_id: int) -> bool:
    """Gmail's "mailbox full" comes back for the delivery; whether it suppressed Maria."""
    report = BounceClassifier(VERP).classify(sample("gmail_over_quota.eml", delivery_id))
    assert report.kind is BounceKind.soft
    outcome = await apply_bounce(uow_factory, report, T0, soft_limit=LIMIT)
    return outcome.suppressed


async def maria(engine: AsyncEngine) -> tuple[int, bool]:
    state = (await address_state(engine))[MARIA]
    return state["soft_bounces"], state["refused_at"] is not None


async def test_three_mailings_in_a_row_that_soft_bounce_suppress_the_address(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    sent = [await mailing(uow_factory, db_engine, n) for n in range(3)]
    assert not await soft_bounce(uow_factory, sent[0])
    assert not await soft_bounce(uow_factory, sent[0])  # the same mailing again: one
    assert not await soft_bounce(uow_factory, sent[1])
    assert await maria(db_engine) == (2, False)
    assert await soft_bounce(uow_factory, sent[2])
    assert await maria(db_engine) == (3, True)


async def test_a_mailing_that_got_through_in_between_starts_the_count_again(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    sent = [await mailing(uow_factory, db_engine, n) for n in range(6)]
    await soft_bounce(uow_factory, sent[0])
    await soft_bounce(uow_factory, sent[1])
    # sent[2] was delivered and nothing came back for it: the mailbox took mail again.
    assert not await soft_bounce(uow_factory, sent[3])
    assert await maria(db_engine) == (1, False)
    assert not await soft_bounce(uow_factory, sent[4])
    assert await soft_bounce(uow_factory, sent[5])
    assert await maria(db_engine) == (3, True)


async def test_reports_out_of_order_may_shorten_a_streak_never_lengthen_it(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    """The report about the mailing in between comes back last: when the third one came,
    the second seemed to have got through, so the count started again. Suppression errs
    towards keeping a reader; the next soft bounce in a row reaches the limit."""
    sent = [await mailing(uow_factory, db_engine, n) for n in range(4)]
    await soft_bounce(uow_factory, sent[0])
    await soft_bounce(uow_factory, sent[2])
    assert await maria(db_engine) == (1, False)
    assert not await soft_bounce(uow_factory, sent[1])
    assert await maria(db_engine) == (2, False)
    assert await soft_bounce(uow_factory, sent[3])


async def test_an_open_in_between_starts_the_count_again(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    sent = [await mailing(uow_factory, db_engine, n) for n in range(4)]
    await soft_bounce(uow_factory, sent[0])
    await soft_bounce(uow_factory, sent[1])
    urls = TrackingUrls(Signer(SECRET), "https://bot.example.com")
    run_id = (await address_state(db_engine))[MARIA]["soft_bounce_run_id"]
    pixel = urls.open_url(run_id, sent[1]).rsplit("/", 1)[1]
    assert await Tracker(uow_factory, urls).open(pixel, T0 + timedelta(days=2))
    assert await maria(db_engine) == (0, False)
    assert not await soft_bounce(uow_factory, sent[2])
    assert not await soft_bounce(uow_factory, sent[3])
    assert await maria(db_engine) == (2, False)
