"""Possible duplicates on both backends: an attempt whose answer was lost (a 5xx; a
worker lost while sending) marks its row, the mark stays through later attempts, and a
row delivered with it counts as "possibly sent twice" in the run's statistics and its
export — and only then (a definite answer, or a row that never got delivered, does not)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outcome, SendResult
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.repositories import SqlStatsReader
from tests.integration.db.test_queue import POLICY, T0, add_bulk_list, add_run

LATER = T0 + timedelta(hours=1)  # past any retry's backoff


async def test_a_lost_answer_then_a_delivery_is_possibly_twice(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 4, "d")
    run = await add_run(uow_factory)
    queue, stats = SqlDeliveryQueue(db_engine), SqlStatsReader(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    lost, definite, direct, never = [o.delivery_id for o in await queue.claim(4, T0)]
    await queue.complete(
        [
            SendResult(lost, Outcome.retry, "Bad Gateway", answer_lost=True),
            SendResult(definite, Outcome.retry, "421 busy"),  # a definite "not sent"
            SendResult(direct, Outcome.delivered),
            SendResult(never, Outcome.retry, "Bad Gateway", answer_lost=True),
        ],
        T0,
        POLICY,
    )
    again = {o.delivery_id for o in await queue.claim(4, LATER)}
    assert again == {lost, definite, never}
    await queue.complete(
        [
            SendResult(lost, Outcome.delivered),  # the mark is kept
            SendResult(definite, Outcome.delivered),
            SendResult(never, Outcome.failed, "400 chat not found"),
        ],
        LATER,
        POLICY,
    )
    twice = await stats.possibly_twice(run)
    exported = await stats.export_rows(run, 0, 10)
    assert twice == 1
    assert {r.delivery_id for r in exported if r.possibly_twice} == {lost}
    assert {type(r.possibly_twice) for r in exported} == {bool}


async def test_a_row_requeued_from_a_lost_worker_is_marked(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    """Its worker died while sending: the message may have gone out before it did."""
    listed = await add_bulk_list(db_engine, 2, "w")
    run = await add_run(uow_factory)
    queue, stats = SqlDeliveryQueue(db_engine), SqlStatsReader(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    stuck = [o.delivery_id for o in await queue.claim(1, T0)]
    lease = timedelta(seconds=60)
    assert await queue.requeue_expired(lease, T0 + timedelta(minutes=5), POLICY) == 1
    batch = await queue.claim(2, T0 + timedelta(minutes=5))
    results = [SendResult(o.delivery_id, Outcome.delivered) for o in batch]
    await queue.complete(results, T0 + timedelta(minutes=5), POLICY)
    assert await stats.possibly_twice(run) == 1
    exported = await stats.export_rows(run, 0, 10)
    assert [r.delivery_id for r in exported if r.possibly_twice] == stuck
