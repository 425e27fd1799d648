"""The per-minute aggregate written with each batch, and the statistics read from it,
on both backends: counts survive the removal of delivery rows (retention)."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outcome, SendResult
from domain.mailings import Channel
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind
from domain.stats import FailureReason, Sends
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.repositories import SqlStatsReader
from tests.integration.db.test_queue import (
    POLICY,
    T0,
    StatementCounter,
    add_bulk_list,
    add_run,
)


async def test_each_batch_adds_its_final_results_to_its_minute_in_one_statement(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    lst = await add_bulk_list(db_engine, 6, "s")
    run = await add_run(uow_factory)
    queue, stats = SqlDeliveryQueue(db_engine), SqlStatsReader(db_engine)
    await queue.snapshot(run, [lst], [AddressKind.email])
    batch = await queue.claim(6, T0)
    first, second = batch[:3], batch[3:]
    at = T0 + timedelta(seconds=5)
    results = [
        SendResult(first[0].delivery_id, Outcome.delivered),
        SendResult(first[1].delivery_id, Outcome.failed, error="400 chat not found"),
        SendResult(first[2].delivery_id, Outcome.retry, error="421 busy"),  # not final
    ]
    with StatementCounter(db_engine) as counter:
        await queue.complete(results, at, POLICY)
    assert len(counter.containing("INSERT INTO run_minutes")) == 1
    # Same minute: the counts add up; the next minute gets a bucket of its own.
    await queue.complete(
        [SendResult(second[0].delivery_id, Outcome.refused, error="550 no such user")],
        at + timedelta(seconds=30),
        POLICY,
    )
    await queue.complete(
        [
            SendResult(second[1].delivery_id, Outcome.delivered),
            SendResult(second[2].delivery_id, Outcome.delivered),
        ],
        at + timedelta(minutes=1),
        POLICY,
    )
    rate = await stats.rate(run)
    by_channel = await stats.channel_sends(T0 - timedelta(days=1))
    daily = await stats.daily_sends(T0 - timedelta(days=1), UTC)
    reasons = await stats.failure_reasons(run, 5)
    assert [(p.minute, p.sends) for p in rate] == [
        (T0, Sends(delivered=1, failed=1, refused=1)),
        (T0 + timedelta(minutes=1), Sends(delivered=2)),
    ]
    assert by_channel == {Channel.email: Sends(delivered=3, failed=1, refused=1)}
    assert [(d.day, d.channel, d.sends) for d in daily] == [
        (T0.replace(hour=0), Channel.email, Sends(delivered=3, failed=1, refused=1))
    ]
    assert sorted(reasons, key=lambda r: r.status) == [
        FailureReason("failed", "400 chat not found", 1),
        FailureReason("refused", "550 no such user", 1),
    ]


async def test_counts_and_rate_stay_when_retention_removes_the_delivery_rows(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    lst = await add_bulk_list(db_engine, 3, "r")
    run = await add_run(uow_factory)
    queue, stats = SqlDeliveryQueue(db_engine), SqlStatsReader(db_engine)
    await queue.snapshot(run, [lst], [AddressKind.email])
    batch = await queue.claim(3, T0)
    await queue.complete([SendResult(o.delivery_id, Outcome.delivered) for o in batch], T0, POLICY)
    exported = await stats.export_rows(run, 0, 2)
    rest = await stats.export_rows(run, exported[-1].delivery_id, 2)
    assert len(exported) == 2 and len(rest) == 1
    assert {r.address for r in exported + rest} == {f"r{i}@example.com" for i in (1, 2, 3)}
    assert {(r.channel, r.status, r.attempts) for r in exported + rest} == {
        ("email", "delivered", 1)
    }
    async with db_engine.begin() as conn:
        await conn.execute(text("DELETE FROM deliveries WHERE run_id = :r"), {"r": run})
    assert not await stats.has_deliveries(run)
    assert [p.sends for p in await stats.rate(run)] == [Sends(delivered=3)]
    async with uow_factory() as uow:
        kept = await uow.runs.get(run)
    assert kept is not None
    page = await stats.runs_page(kept.mailing_id, 0, 8)
    assert [r.totals.delivered for r in page.items] == [3] and page.total == 1


async def test_failure_reasons_are_grouped_by_kind_not_listed_per_address(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    lst = await add_bulk_list(db_engine, 14, "k")
    run = await add_run(uow_factory)
    queue, stats = SqlDeliveryQueue(db_engine), SqlStatsReader(db_engine)
    await queue.snapshot(run, [lst], [AddressKind.email])
    batch = await queue.claim(14, T0)
    results = [
        SendResult(o.delivery_id, Outcome.refused, f"550 5.1.1 <{o.value}>: Recipient rejected")
        for o in batch[:11]
    ] + [SendResult(o.delivery_id, Outcome.failed, "554 5.7.1 Spam") for o in batch[11:]]
    await queue.complete(results, T0, POLICY)
    reasons = await stats.failure_reasons(run, 5)
    assert reasons == [
        FailureReason("refused", "550 5.1.1 Recipient rejected", 11),
        FailureReason("failed", "554 5.7.1 Spam", 3),
    ]


async def test_per_channel_sends_leave_test_sends_out_and_count_days_in_the_zone(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    late = T0.replace(hour=22, minute=30)  # 01:30 the next day in Moscow
    real, test = await add_run(uow_factory), await add_run(uow_factory, slot=late)
    async with db_engine.begin() as conn:
        await conn.execute(
            text("UPDATE mailing_runs SET is_test = true WHERE id = :r"), {"r": test}
        )
    queue, stats = SqlDeliveryQueue(db_engine), SqlStatsReader(db_engine)
    for run, at, size in ((real, T0, 2), (real, late, 1), (test, late, 1)):
        lst = await add_bulk_list(db_engine, size, f"z{run}-{at.hour}-")
        await queue.snapshot(run, [lst], [AddressKind.email])
        batch = await queue.claim(size, at)
        await queue.complete(
            [SendResult(o.delivery_id, Outcome.delivered) for o in batch], at, POLICY
        )
    since, moscow = T0 - timedelta(days=1), ZoneInfo("Europe/Moscow")
    real_only = await stats.channel_sends(since)
    everything = await stats.channel_sends(since, with_tests=True)
    days = await stats.daily_sends(since, moscow)
    days_all = await stats.daily_sends(since, moscow, with_tests=True)
    assert real_only == {Channel.email: Sends(delivered=3)}
    assert everything == {Channel.email: Sends(delivered=4)}
    assert [(d.day.isoformat(), d.sends.delivered) for d in days] == [
        ("2026-11-26T00:00:00+03:00", 2),
        ("2026-11-27T00:00:00+03:00", 1),
    ]
    assert [d.sends.delivered for d in days_all] == [2, 2]
