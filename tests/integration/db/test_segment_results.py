"""A run's results per segment on PostgreSQL and SQLite: each segment counts the run's
recipients who match it, and of them the delivered, the openers and the clickers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind
from domain.segment_results import SegmentResult
from domain.segments import TAGS, Condition, Op, Segment
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.segment_results import SqlSegmentResults
from tests.integration.db.test_queue import add_run
from tests.integration.db.test_segments import TODAY, seed

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def test_results_per_segment_count_the_runs_matching_recipients(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    everyone, _, ids = await seed(uow_factory)
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    assert await queue.snapshot(run, [everyone], [AddressKind.email], None, TODAY) == 5
    claimed = await queue.claim(10, NOW)
    by_address = {o.address_id: o.delivery_id for o in claimed}
    refused = {by_address[ids["bob"]]}
    results = [
        SendResult(
            o.delivery_id, Outcome.refused if o.delivery_id in refused else Outcome.delivered
        )
        for o in claimed
    ]
    await queue.complete(results, NOW, RetryPolicy())
    async with db_engine.begin() as conn:
        for name, clicked in (("ann", True), ("dan", False)):
            await conn.execute(
                text(
                    "INSERT INTO delivery_tracking (delivery_id, run_id, opened_at, opens,"
                    " clicked_at, clicks) VALUES (:d, :r, :t, 1, :c, :n)"
                ),
                {
                    "d": by_address[ids[name]],
                    "r": run,
                    "t": NOW,
                    "c": NOW if clicked else None,
                    "n": int(clicked),
                },
            )
    vip = Segment((Condition(TAGS, Op.has_tag, "vip"),))  # ann, dan
    new = Segment((Condition(TAGS, Op.has_tag, "new"),))  # ann, bob
    nobody = Segment((Condition("city", Op.equals, "Atlantis"),))
    found = await SqlSegmentResults(db_engine).results(
        run, [("vip", vip), ("new", new), ("none", nobody)], TODAY
    )
    assert found == [
        SegmentResult("vip", 2, 2, 2, 1),
        SegmentResult("new", 2, 1, 1, 1),
        SegmentResult("none", 0, 0, 0, 0),
    ]
    assert found[1].share(found[1].delivered) == 50 and found[2].share(0) == 0
