"""Retention on both backends: old rows of finished runs go in batches, everything else stays."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.ports.uow import UnitOfWorkFactory
from domain.runs import RunStatus, RunTotals
from domain.usecases.access import record
from domain.usecases.retention import purge_deliveries, purge_sent_events
from domain.webhooks import SENT_KEPT, Endpoint, EventType, OutboxItem, OutboxStatus
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.retention import SqlDeliveryRetention
from tests.integration.db.test_queue import T0, add_bulk_list, add_run, totals

NOW = T0 + timedelta(days=400)
OLD = NOW - timedelta(days=200)
RECENT = NOW - timedelta(days=10)


class FixedClock:
    def now(self) -> datetime:
        return NOW


async def sent_run(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    list_id: int,
    slot: datetime,
    *,
    status: RunStatus,
    finished_at: datetime | None,
    send: int,
) -> int:
    """A run of the list whose first ``send`` recipients went through the real queue
    (delivered, every third failed), then left in ``status``."""
    run_id = await add_run(uow_factory, RunStatus.running, slot)
    queue = SqlDeliveryQueue(engine)
    await queue.snapshot(run_id, [list_id], ["email"])  # type: ignore[list-item]
    if send:
        batch = await queue.claim(send, slot)
        results = [
            SendResult(o.delivery_id, Outcome.failed if i % 3 == 0 else Outcome.delivered)
            for i, o in enumerate(batch)
        ]
        await queue.complete(results, slot, RetryPolicy())
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        run.status, run.finished_at = status, finished_at
        await uow.runs.update(run)
        await uow.commit()
    return run_id


async def row_counts(engine: AsyncEngine) -> dict[int, int]:
    async with engine.connect() as conn:
        found = await conn.execute(text("SELECT run_id, COUNT(*) FROM deliveries GROUP BY run_id"))
        return {int(run_id): int(count) for run_id, count in found}


async def all_totals(uow_factory: UnitOfWorkFactory, run_ids: list[int]) -> list[RunTotals]:
    return [await totals(uow_factory, run_id) for run_id in run_ids]


async def test_old_rows_of_finished_runs_go_and_everything_else_stays(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    list_id = await add_bulk_list(db_engine, 30)
    # (status, finished at, recipients sent) in slot order. The active runs are as old as
    # the others, one even with a (bogus) old finish time: they are never touched.
    plan = [
        (RunStatus.completed, OLD, 30),
        (RunStatus.cancelled, OLD, 12),
        (RunStatus.completed, RECENT, 30),
        (RunStatus.running, OLD, 5),
        (RunStatus.paused, None, 5),
    ]
    runs = [
        await sent_run(
            uow_factory,
            db_engine,
            list_id,
            T0 + timedelta(hours=hour),
            status=status,
            finished_at=finished_at,
            send=send,
        )
        for hour, (status, finished_at, send) in enumerate(plan)
    ]
    old_done, _, recent, running, paused = runs
    async with uow_factory() as uow:
        await record(uow, 1, "mailing.launch", ("mailing", 1), {"run": old_done})
        await uow.commit()
    totals_before = await all_totals(uow_factory, runs)
    assert totals_before[1] == RunTotals(pending=18, delivered=8, failed=4)

    purged = await purge_deliveries(
        uow_factory, SqlDeliveryRetention(db_engine), days=180, clock=FixedClock(), batch_size=7
    )

    assert (purged.rows, purged.runs) == (60, 2)
    assert purged.finished_before == NOW - timedelta(days=180)
    assert await row_counts(db_engine) == {recent: 30, running: 30, paused: 30}
    assert await all_totals(uow_factory, runs) == totals_before  # totals never move
    async with uow_factory() as uow:
        audit = await uow.audit.recent()
    assert [e.action for e in audit] == ["run.purge", "mailing.launch"]
    assert audit[0].details["rows"] == 60 and audit[0].details["runs"] == 2
    assert audit[0].details["days"] == 180

    # Nothing left to do: no rows, no audit entry.
    again = await purge_deliveries(
        uow_factory, SqlDeliveryRetention(db_engine), days=180, clock=FixedClock()
    )
    assert again.rows == 0
    async with uow_factory() as uow:
        assert len(await uow.audit.recent()) == 2


async def test_interleaved_ids_are_purged_in_batches_without_touching_the_neighbour(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    old = await add_run(uow_factory, RunStatus.running, T0)
    kept = await add_run(uow_factory, RunStatus.running, T0 + timedelta(hours=1))
    async with db_engine.begin() as conn:  # ids alternate between the two runs
        for address_id in range(1, 26):
            for run_id in (old, kept):
                await conn.execute(
                    text(
                        "INSERT INTO deliveries (run_id, address_id, status, attempts)"
                        " VALUES (:run_id, :address_id, 'delivered', 1)"
                    ),
                    {"run_id": run_id, "address_id": address_id},
                )
        await conn.execute(
            text("UPDATE mailing_runs SET delivered = 25 WHERE id = :old"), {"old": old}
        )
    async with uow_factory() as uow:
        run = await uow.runs.get(old)
        assert run is not None
        run.status, run.finished_at = RunStatus.completed, OLD
        await uow.runs.update(run)
        await uow.commit()
    per_run = await SqlDeliveryRetention(db_engine).purge(NOW - timedelta(days=180), 4)
    assert per_run == {old: 25}
    assert await row_counts(db_engine) == {kept: 25}
    assert (await totals(uow_factory, old)).delivered == 25


async def test_zero_days_keeps_every_row(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    list_id = await add_bulk_list(db_engine, 5)
    run = await sent_run(
        uow_factory, db_engine, list_id, T0, status=RunStatus.completed, finished_at=OLD, send=5
    )
    purged = await purge_deliveries(
        uow_factory, SqlDeliveryRetention(db_engine), days=0, clock=FixedClock()
    )
    assert purged.rows == 0 and purged.finished_before is None
    assert await row_counts(db_engine) == {run: 5}
    async with uow_factory() as uow:
        assert await uow.audit.recent() == []


async def test_sent_webhook_events_go_after_their_week_in_batches(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        endpoint = await uow.webhooks.add(
            Endpoint("https://a.example", "whsec_x", frozenset(EventType), None)
        )
        assert endpoint.id is not None
        created = {"sent-old": OLD, "sent-old-2": OLD, "sent-new": NOW, "failed-old": OLD}
        items = [
            OutboxItem(endpoint.id, event_id, EventType.run_started, "{}", at, at)
            for event_id, at in [*created.items(), ("pending-old", OLD)]
        ]
        await uow.webhooks.enqueue(items)
        claimed = await uow.webhooks.claim(NOW, timedelta(minutes=2), 10)
        for one in claimed:
            if one.item.event_id != "pending-old":
                failed = one.item.event_id.startswith("failed")
                one.item.status = OutboxStatus.failed if failed else OutboxStatus.sent
                await uow.webhooks.record(one.item)
        await uow.commit()

    purged = await purge_sent_events(uow_factory, clock=FixedClock(), batch_size=1)

    assert purged == 2
    async with uow_factory() as uow:
        health = await uow.webhooks.health(endpoint.id, 10)
    assert health is not None and health.pending == 1  # pending and failed rows stay
    async with uow_factory() as uow:
        # what is left: the new sent row (a purge a week later takes it), the other two
        later = NOW + SENT_KEPT + timedelta(days=1)
        assert await uow.webhooks.purge_sent(later, 10) == 1
        assert await uow.webhooks.purge_sent(later, 10) == 0
