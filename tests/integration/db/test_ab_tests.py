"""An A/B test in the real queue, on PostgreSQL and SQLite: the snapshot's SQL places
everyone exactly as ``domain.ab_test.placement`` does, holds the rest, claims carry the
variant, the sample's results by each metric, and the rest released once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ab_test import HELD, Decision, Metric, Split, VariantResult, placement
from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind
from infrastructure.db.ab_tests import SqlABTests
from infrastructure.db.models import DeliveryRow
from infrastructure.db.queue import SqlDeliveryQueue
from tests.integration.db.test_queue import add_bulk_list, add_run

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SPLIT = Split("run-7", 30, 3)


async def placed(
    engine: AsyncEngine, run_id: int
) -> dict[int, tuple[int | None, datetime | None]]:
    d = DeliveryRow
    query = select(d.address_id, d.variant, d.next_attempt_at).where(d.run_id == run_id)
    async with engine.connect() as conn:
        return {row[0]: (row[1], row[2]) for row in await conn.execute(query)}


async def test_the_snapshot_places_everyone_as_the_domain_does_and_holds_the_rest(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    list_id = await add_bulk_list(db_engine, 600)
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    assert await queue.snapshot(run, [list_id], [AddressKind.email], split=SPLIT) == 600
    rows = await placed(db_engine, run)
    for address_id, (variant, due) in rows.items():
        assert variant == placement(SPLIT.seed, address_id, SPLIT.percent, SPLIT.variants)
        held = due == HELD
        assert held == (variant is None)
    sample = [address for address, (variant, _) in rows.items() if variant is not None]
    assert 130 <= len(sample) <= 230  # 30 % of 600
    claimed = await queue.claim(1000, NOW)
    assert sorted(o.address_id for o in claimed) == sorted(sample)  # never the held rest
    assert {o.variant for o in claimed} == {0, 1, 2}
    assert all(o.variant == rows[o.address_id][0] for o in claimed)


async def test_results_by_metric_and_the_rest_released_once(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    list_id = await add_bulk_list(db_engine, 400)
    run = await add_run(uow_factory)
    queue, store = SqlDeliveryQueue(db_engine), SqlABTests(db_engine)
    await queue.snapshot(run, [list_id], [AddressKind.email], split=Split("s", 50, 2))
    claimed = await queue.claim(1000, NOW)
    # B (variant 1) delivered to all, A refused every third.
    results = [
        SendResult(
            o.delivery_id,
            Outcome.refused if o.variant == 0 and o.delivery_id % 3 == 0 else Outcome.delivered,
        )
        for o in claimed
    ]
    await queue.complete(results, NOW, RetryPolicy())
    a_rows = [o for o in claimed if o.variant == 0]
    b_rows = [o for o in claimed if o.variant == 1]
    a_refused = sum(1 for o in a_rows if o.delivery_id % 3 == 0)
    delivered = await store.results(run, Metric.delivered, 2)
    assert delivered == [
        VariantResult(len(a_rows), len(a_rows) - a_refused),
        VariantResult(len(b_rows), len(b_rows)),
    ]
    opened = [o for o in a_rows if o.delivery_id % 3 != 0][:5]
    async with db_engine.begin() as conn:
        for o in opened:
            await conn.execute(
                text(
                    "INSERT INTO delivery_tracking (delivery_id, run_id, opened_at, opens,"
                    " clicks) VALUES (:d, :r, :t, 1, 0)"
                ),
                {"d": o.delivery_id, "r": run, "t": NOW},
            )
        await conn.execute(
            text(
                "INSERT INTO run_answers (run_id, address_id, option, presses, answered_at)"
                " VALUES (:r, :a, 0, 1, :t)"
            ),
            {"r": run, "a": b_rows[0].address_id, "t": NOW},
        )
    opens = await store.results(run, Metric.opens, 2)
    assert opens == [VariantResult(len(a_rows) - a_refused, 5), VariantResult(len(b_rows), 0)]
    assert (await store.results(run, Metric.clicks, 2))[0].hits == 0
    assert (await store.results(run, Metric.answers, 2))[1].hits == 1

    async with uow_factory() as uow:
        stored = await uow.runs.get(run)
        assert stored is not None
        stored_due = NOW + timedelta(hours=1)
    async with db_engine.begin() as conn:
        await conn.execute(
            text("UPDATE mailing_runs SET ab_due_at = :t WHERE id = :r"),
            {"t": stored_due, "r": run},
        )
    assert await store.due(NOW) == []
    assert await store.due(stored_due) == [run]
    decision = Decision.of(delivered, Metric.delivered)
    assert decision.winner == 1
    rest = 400 - len(claimed)
    assert await store.release(run, decision, NOW) == rest
    assert await store.release(run, decision, NOW) is None  # exactly once
    assert await store.due(stored_due) == []
    again = await queue.claim(1000, NOW)
    assert len(again) == rest and {o.variant for o in again} == {1}
    async with uow_factory() as uow:
        after = await uow.runs.get(run)
    assert after is not None and after.ab_due_at is None
    assert Decision.from_json(after.ab_result) == decision
