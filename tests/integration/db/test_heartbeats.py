"""Worker heartbeats and claim tokens, on both backends: a dead worker's rows go back to the
queue at once whatever the lease, and its late results never land on a row claimed since.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind
from domain.runs import RunStatus, RunTotals
from domain.usecases.heartbeat import Heartbeat
from domain.workers import Liveness
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.workers import SqlWorkerRegistry
from tests.integration.db.test_queue import (
    T0,
    add_bulk_list,
    add_run,
    assert_totals_match_rows,
    rows,
)

POLICY = RetryPolicy(max_attempts=5)
LEASE = timedelta(minutes=5)
LIVENESS = Liveness(timedelta(seconds=5))


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


def heartbeat(engine: AsyncEngine, clock: Clock, name: str) -> Heartbeat:
    return Heartbeat(
        registry=SqlWorkerRegistry(engine),
        queue=SqlDeliveryQueue(engine),
        name=name,
        liveness=LIVENESS,
        lease=LEASE,
        policy=POLICY,
        clock=clock,
    )


async def claimed_by(engine: AsyncEngine, run_id: int) -> dict[int, int | None]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT id, claimed_by FROM deliveries WHERE run_id = :r"), {"r": run_id}
        )
        return {int(i): (int(w) if w is not None else None) for i, w in found}


async def test_a_dead_workers_rows_are_requeued_after_its_silence_not_its_lease(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 6, "h")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    clock = Clock()
    doomed, survivor = heartbeat(db_engine, clock, "a:1"), heartbeat(db_engine, clock, "b:2")
    dead_id, live_id = await doomed.start(), await survivor.start()
    lost = await queue.claim(4, clock.now(), dead_id)
    kept = await queue.claim(2, clock.now(), live_id)
    assert set((await claimed_by(db_engine, run)).values()) == {dead_id, live_id}

    # The doomed process stops beating (SIGKILL); the survivor beats on.
    for _ in range(LIVENESS.missed):
        clock.at += LIVENESS.every
        assert await survivor.beat() == 0  # not silent long enough yet
    clock.at += LIVENESS.every
    assert await survivor.beat() == len(lost)  # 4 beats: far under the 5-minute lease
    assert clock.at - T0 == LIVENESS.requeue_within

    states = await rows(db_engine, run)
    assert {states[o.delivery_id]["status"] for o in lost} == {"pending"}
    assert {states[o.delivery_id]["status"] for o in kept} == {"sending"}
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(pending=6)
    again = await queue.claim(10, clock.now(), live_id)
    assert sorted(o.delivery_id for o in again) == sorted(o.delivery_id for o in lost)


async def test_a_restarted_process_requeues_a_dead_ones_rows_as_it_starts(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 3, "r")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    clock = Clock()
    crashed = heartbeat(db_engine, clock, "host:1")
    await queue.claim(3, clock.now(), await crashed.start())
    clock.at += LIVENESS.silence + timedelta(seconds=1)  # the restart came later than that

    restarted = heartbeat(db_engine, clock, "host:2")
    await restarted.start()
    assert {row["status"] for row in (await rows(db_engine, run)).values()} == {"pending"}


async def test_a_late_result_never_lands_on_a_row_claimed_since(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 2, "t")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    clock = Clock()
    stalled, other = heartbeat(db_engine, clock, "a:1"), heartbeat(db_engine, clock, "b:2")
    first = await queue.claim(2, clock.now(), await stalled.start())
    await other.start()
    clock.at += LIVENESS.requeue_within
    assert await other.beat() == 2  # the stalled worker counts as dead
    second = await queue.claim(2, clock.now(), other.worker_id)
    assert [o.claim for o in second] == [o.claim + 1 for o in first]

    # The stalled worker wakes up and records what it had sent: refused and failed.
    late = [
        SendResult(first[0].delivery_id, Outcome.refused, error="403 blocked"),
        SendResult(first[1].delivery_id, Outcome.failed, error="late"),
    ]
    await queue.complete(late, clock.now(), POLICY, {o.delivery_id: o.claim for o in first})
    states = await rows(db_engine, run)
    assert {row["status"] for row in states.values()} == {"sending"}
    assert {row["refused_at"] for row in states.values()} == {None}
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(pending=2)

    # The worker that holds the rows now records its own results.
    mine = [SendResult(o.delivery_id, Outcome.delivered) for o in second]
    await queue.complete(mine, clock.now(), POLICY, {o.delivery_id: o.claim for o in second})
    assert {row["status"] for row in (await rows(db_engine, run)).values()} == {"delivered"}
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(delivered=2)


async def test_a_worker_declared_dead_while_alive_registers_again(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    clock = Clock()
    stalled, other = heartbeat(db_engine, clock, "a:1"), heartbeat(db_engine, clock, "b:2")
    old_id = await stalled.start()
    await other.start()
    clock.at += LIVENESS.requeue_within
    await other.beat()  # forgets the silent one
    await stalled.beat()
    assert stalled.worker_id not in (None, old_id)
    await stalled.retire()
    async with db_engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM workers"))).scalars().all()
    assert names == ["b:2"]


async def test_rows_of_a_paused_run_come_back_but_a_finished_runs_are_left(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 2, "p")
    paused = await add_run(uow_factory)
    cancelled = await add_run(uow_factory, slot=T0 + timedelta(hours=1))
    queue = SqlDeliveryQueue(db_engine)
    for run in (paused, cancelled):
        await queue.snapshot(run, [listed], [AddressKind.email])
    clock = Clock()
    crashed = heartbeat(db_engine, clock, "a:1")
    await queue.claim(4, clock.now(), await crashed.start())
    for run, status in ((paused, RunStatus.paused), (cancelled, RunStatus.cancelled)):
        async with uow_factory() as uow:
            found = await uow.runs.get(run)
            assert found is not None
            found.status = status
            await uow.runs.update(found)
            await uow.commit()
    clock.at += LIVENESS.requeue_within
    await heartbeat(db_engine, clock, "b:2").start()
    assert {row["status"] for row in (await rows(db_engine, paused)).values()} == {"pending"}
    assert {row["status"] for row in (await rows(db_engine, cancelled)).values()} == {"sending"}
