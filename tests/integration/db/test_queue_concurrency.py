"""SqlDeliveryQueue under concurrency (PostgreSQL): several workers, and a worker that dies."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outbound, Outcome, RetryPolicy, SendResult
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind
from domain.runs import RunTotals
from domain.usecases.launch import finish_drained_runs
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.queue import SqlDeliveryQueue
from tests.integration.db.test_queue import (
    T0,
    add_bulk_list,
    add_run,
    assert_totals_match_rows,
    rows,
)

POLICY = RetryPolicy(max_attempts=10, base=timedelta(seconds=1), cap=timedelta(seconds=1))


@pytest.fixture
async def engines(migrated_pg_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines, as two worker processes would have."""
    first, second = create_engine(migrated_pg_url), create_engine(migrated_pg_url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def seeded(engine: AsyncEngine, count: int) -> tuple[UnitOfWorkFactory, int, int]:
    uow_factory = make_uow_factory(create_session_factory(engine))
    listed = await add_bulk_list(engine, count, "w")
    run = await add_run(uow_factory)
    assert await SqlDeliveryQueue(engine).snapshot(run, [listed], [AddressKind.email]) == count
    return uow_factory, run, listed


async def test_concurrent_claimers_never_share_a_delivery(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    count, batch = 300, 7
    uow_factory, run, listed = await seeded(engines[0], count)
    # A second run of the same list: batches straddle both runs' totals.
    other = await add_run(uow_factory, slot=T0 + timedelta(hours=1))
    assert (
        await SqlDeliveryQueue(engines[1]).snapshot(other, [listed], [AddressKind.email]) == count
    )
    queues = [SqlDeliveryQueue(engine) for engine in engines]
    claimed: list[list[Outbound]] = [[], []]

    async def worker(index: int) -> None:
        queue = queues[index]
        while outbound := await queue.claim(batch, T0):
            claimed[index].extend(outbound)
            await asyncio.sleep(0)  # let the other worker in between claim and complete
            results = [SendResult(o.delivery_id, Outcome.delivered) for o in outbound]
            await queue.complete(results, T0, POLICY)

    await asyncio.gather(worker(0), worker(1), worker(0), worker(1))

    ids = [o.delivery_id for got in claimed for o in got]
    assert len(ids) == 2 * count and len(set(ids)) == 2 * count  # everything, exactly once
    assert all(claimed)  # both engines took part
    assert set(ids) == set(await rows(engines[0], run)) | set(await rows(engines[0], other))
    for run_id in (run, other):
        kept = await assert_totals_match_rows(uow_factory, engines[0], run_id)
        assert kept == RunTotals(delivered=count)
    assert [r.id for r in await finish_drained_runs(uow_factory, T0)] == [run, other]


async def test_a_dead_worker_costs_at_most_its_batch_in_duplicates(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    count, batch, lease = 300, 20, timedelta(seconds=30)
    uow_factory, run, _listed = await seeded(engines[0], count)
    doomed, survivor = (SqlDeliveryQueue(engine) for engine in engines)
    sends: Counter[int] = Counter()  # delivery id -> times handed to a channel
    retries: Counter[int] = Counter()  # delivery id -> transient failures reported

    lost = await doomed.claim(batch, T0)  # sent (maybe), then the process died
    sends.update(o.delivery_id for o in lost)

    now = T0
    while True:
        now += timedelta(seconds=5)
        await survivor.requeue_expired(lease, now, POLICY)
        outbound = await survivor.claim(batch, now)
        if not outbound:
            left = await assert_totals_match_rows(uow_factory, engines[0], run)
            if left.pending == left.sending == 0:
                break
            continue
        sends.update(o.delivery_id for o in outbound)
        # Some first tries hit a transient error: they come back later, once.
        results = []
        for o in outbound:
            retry = o.attempts == 0 and o.delivery_id % 7 == 0
            retries.update([o.delivery_id] if retry else [])
            outcome = Outcome.retry if retry else Outcome.delivered
            results.append(SendResult(o.delivery_id, outcome))
        await survivor.complete(results, now, POLICY)

    # The dead worker wakes up late: its results change nothing.
    await doomed.complete([SendResult(o.delivery_id, Outcome.failed) for o in lost], now, POLICY)

    final = await rows(engines[0], run)
    assert len(final) == count
    assert {row["status"] for row in final.values()} == {"delivered"}
    assert retries and all(sends[i] == 2 for i in retries)
    duplicates = {i for i, n in sends.items() if n > retries[i] + 1}
    assert duplicates == {o.delivery_id for o in lost}
    assert len(duplicates) <= batch
    assert {final[o.delivery_id]["attempts"] for o in lost} == {2}  # the lost claim counts
    assert await assert_totals_match_rows(uow_factory, engines[0], run) == RunTotals(
        delivered=count
    )
