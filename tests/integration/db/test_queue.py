"""SqlDeliveryQueue on both backends: snapshot, claim, complete, requeue, finish."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, column, event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outbound, Outcome, RetryPolicy, SendResult
from domain.mailings import Channel, Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import MailingRun, RunStatus, RunTotals
from domain.usecases.launch import finish_drained_runs
from domain.webhooks import Endpoint, Event, EventType, Refusal, delivery_refused
from infrastructure.db.base import UTCDateTime
from infrastructure.db.queue import SqlDeliveryQueue

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base=timedelta(seconds=10), cap=timedelta(minutes=5))


# -- helpers (also used by test_queue_concurrency) ---------------------------------------


async def add_run(
    uow_factory: UnitOfWorkFactory,
    status: RunStatus = RunStatus.running,
    slot: datetime = T0,
) -> int:
    async with uow_factory() as uow:
        mailing = Mailing(owner_id=1, name=f"M {slot.isoformat()}", channel=Channel.email)
        await uow.mailings.add(mailing)
        assert mailing.id is not None
        run = await uow.runs.add(
            MailingRun(mailing_id=mailing.id, scheduled_for=slot, status=status)
        )
        assert run is not None and run.id is not None
        await uow.commit()
        return run.id


async def add_bulk_list(engine: AsyncEngine, count: int, prefix: str = "u") -> int:
    """A list of ``count`` new email addresses, built with set-based SQL."""
    async with engine.begin() as conn:
        list_id = (
            await conn.execute(
                text(
                    "INSERT INTO recipient_lists (name, owner_id, source_kind)"
                    " VALUES (:name, 1, 'manual') RETURNING id"
                ),
                {"name": f"bulk {prefix}"},
            )
        ).scalar_one()
        await conn.execute(
            text(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)"
                " INSERT INTO addresses (kind, value, attributes)"
                " SELECT 'email', :prefix || CAST(i AS TEXT) || '@example.com', '{}' FROM s"
            ),
            {"n": count, "prefix": prefix},
        )
        await conn.execute(
            text(
                "INSERT INTO list_members (list_id, address_id) SELECT :list_id, id"
                " FROM addresses WHERE value LIKE :pattern"
            ),
            {"list_id": list_id, "pattern": f"{prefix}%@example.com"},
        )
    return int(list_id)


async def totals(uow_factory: UnitOfWorkFactory, run_id: int) -> RunTotals:
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
    assert run is not None
    return run.totals


async def rows(engine: AsyncEngine, run_id: int) -> dict[int, dict[str, Any]]:
    """A run's delivery rows by id, with their address value and suppression."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT d.id, d.run_id, d.status, d.attempts, d.last_error,"
                " d.provider_message_id, d.next_attempt_at, a.value, a.refused_at"
                " FROM deliveries d JOIN addresses a ON a.id = d.address_id"
                " WHERE d.run_id = :run_id"
            ).columns(
                column("id"),
                column("run_id"),
                column("status"),
                column("attempts"),
                column("last_error"),
                column("provider_message_id"),
                column("next_attempt_at", UTCDateTime()),
                column("value"),
                column("refused_at", UTCDateTime()),
            ),
            {"run_id": run_id},
        )
        return {row.id: dict(row._mapping) for row in result}


async def assert_totals_match_rows(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, run_id: int
) -> RunTotals:
    counted: dict[str, int] = {}
    for row in (await rows(engine, run_id)).values():
        # the run totals count claimed rows ("sending") as pending: no lock at claim time
        status = "pending" if row["status"] == "sending" else row["status"]
        counted[status] = counted.get(status, 0) + 1
    kept = await totals(uow_factory, run_id)
    assert kept == RunTotals(**counted)
    return kept


class StatementCounter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[str] = []
        self._engine = engine

    def __enter__(self) -> StatementCounter:
        event.listen(self._engine.sync_engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine.sync_engine, "before_cursor_execute", self._on)

    def _on(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(" ".join(statement.split()))

    def containing(self, words: str) -> list[str]:
        return [s for s in self.statements if words.upper() in s.upper()]


async def seed_small(uow_factory: UnitOfWorkFactory) -> tuple[int, int, list[int]]:
    """Lists A and B; ann is in both, gone unsubscribed, eve refused, 42 is Telegram."""
    async with uow_factory() as uow:
        a = await uow.lists.add(RecipientList("A", 1))
        b = await uow.lists.add(RecipientList("B", 1))
        people = [
            Address(AddressKind.email, "ann@example.com", {"name": "Ann"}),
            Address(AddressKind.email, "bob@example.com", {"name": "Bob"}),
            Address(AddressKind.email, "gone@example.com", {}, unsubscribed_at=T0),
            Address(AddressKind.telegram, "42", {"name": "T"}),
            Address(AddressKind.email, "eve@example.com", {}, refused_at=T0),
        ]
        ids = [(await uow.addresses.upsert(p)).id or 0 for p in people]
        assert a.id is not None and b.id is not None
        await uow.members.add_members(a.id, ids[:4])
        await uow.members.add_members(b.id, [ids[0], ids[1], ids[4]])
        await uow.commit()
        return a.id, b.id, ids


# -- snapshot ----------------------------------------------------------------------------


async def test_snapshot_dedupes_and_leaves_out_suppressed_and_other_kinds(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    a, b, ids = await seed_small(uow_factory)
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)

    assert await queue.snapshot(run, [a, b], [AddressKind.email]) == 2
    values = sorted(row["value"] for row in (await rows(db_engine, run)).values())
    assert values == ["ann@example.com", "bob@example.com"]
    assert await totals(uow_factory, run) == RunTotals(pending=2)

    # Idempotent, and the other kind can be added later without doubling anyone.
    assert await queue.snapshot(run, [a, b], [AddressKind.email]) == 0
    assert await queue.snapshot(run, [a], [AddressKind.email, AddressKind.telegram]) == 1
    assert await queue.snapshot(run, [], [AddressKind.email]) == 0
    assert await totals(uow_factory, run) == RunTotals(pending=3)

    # A test send ignores suppression, and never doubles a recipient either.
    assert await queue.snapshot_one(run, ids[4]) == 1
    assert await queue.snapshot_one(run, ids[4]) == 0
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(pending=4)


@pytest.mark.parametrize(
    "count",  # one statement whatever the size: 20,000 in the fast loop, 100,000 slow
    [pytest.param(20_000, id="20k"), pytest.param(100_000, id="100k", marks=pytest.mark.slow)],
)
async def test_a_large_snapshot_is_one_statement(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine, count: int
) -> None:
    first = await add_bulk_list(db_engine, count, "x")
    second = await add_bulk_list(db_engine, 1_000, "y")
    async with db_engine.begin() as conn:  # overlap the lists by 500 addresses
        await conn.execute(
            text(
                "INSERT INTO list_members (list_id, address_id) SELECT :second, address_id"
                " FROM list_members WHERE list_id = :first ORDER BY address_id LIMIT 500"
            ),
            {"first": first, "second": second},
        )
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)

    with StatementCounter(db_engine) as counter:
        started = time.perf_counter()
        inserted = await queue.snapshot(run, [first, second], [AddressKind.email])
        elapsed = time.perf_counter() - started
    print(f"\nsnapshot of {inserted} recipients on {db_engine.dialect.name}: {elapsed:.3f} s")

    assert inserted == count + 1_000
    assert len(counter.containing("INSERT INTO deliveries")) == 1
    assert len(counter.containing("UPDATE mailing_runs")) == 1  # the totals
    assert await totals(uow_factory, run) == RunTotals(pending=count + 1_000)


# -- claim -------------------------------------------------------------------------------


async def test_claim_respects_limit_order_due_time_and_paused_runs(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    a, _b, _ids = await seed_small(uow_factory)
    big = await add_bulk_list(db_engine, 6, "c")
    older = await add_run(uow_factory, slot=T0)
    newer = await add_run(uow_factory, slot=T0 + timedelta(hours=1))
    paused = await add_run(uow_factory, RunStatus.paused, slot=T0 + timedelta(hours=2))
    queue = SqlDeliveryQueue(db_engine)
    assert await queue.snapshot(newer, [a], [AddressKind.email]) == 2  # lower ids first
    assert await queue.snapshot(older, [big], [AddressKind.email]) == 6
    assert await queue.snapshot(paused, [big], [AddressKind.email]) == 6
    older_ids = sorted(await rows(db_engine, older))
    later = T0 + timedelta(minutes=5)
    async with db_engine.begin() as conn:  # the second row of the older run waits
        await conn.execute(
            text("UPDATE deliveries SET next_attempt_at = :at WHERE id = :id").bindparams(
                bindparam("at", type_=UTCDateTime())
            ),
            {"at": later, "id": older_ids[1]},
        )

    first = await queue.claim(3, T0)
    assert [o.delivery_id for o in first] == [older_ids[0], older_ids[2], older_ids[3]]
    assert {(o.run_id, o.kind, o.attempts) for o in first} == {(older, AddressKind.email, 0)}
    assert first[0].value == "c1@example.com" and first[0].attributes == {}
    assert await totals(uow_factory, older) == RunTotals(pending=6)  # claimed: still pending

    second = await queue.claim(10, T0)  # the rest of the older run, then the newer one
    assert [o.delivery_id for o in second if o.run_id == older] == older_ids[4:]
    assert sorted(o.value for o in second if o.run_id == newer) == [
        "ann@example.com",
        "bob@example.com",
    ]
    assert next(o for o in second if o.value == "ann@example.com").attributes == {"name": "Ann"}
    assert len(second) == 4 and await queue.claim(10, T0) == []  # paused and not due stay

    due = await queue.claim(10, later)
    assert [o.delivery_id for o in due] == [older_ids[1]]
    assert await queue.claim(0, later) == []
    async with uow_factory() as uow:
        run = await uow.runs.get(paused)
        assert run is not None
        run.status = RunStatus.running
        await uow.runs.update(run)
        await uow.commit()
    assert len(await queue.claim(4, later)) == 4
    for run_id, expected in (
        (older, RunTotals(pending=6)),
        (newer, RunTotals(pending=2)),
        (paused, RunTotals(pending=6)),
    ):
        assert await assert_totals_match_rows(uow_factory, db_engine, run_id) == expected


# -- complete ----------------------------------------------------------------------------


async def test_complete_writes_every_outcome_and_moves_the_totals(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    a, b, _ids = await seed_small(uow_factory)
    extra = await add_bulk_list(db_engine, 3, "d")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [a, b, extra], [AddressKind.email])
    batch = await queue.claim(5, T0)
    by_value = {o.value: o.delivery_id for o in batch}
    now = T0 + timedelta(seconds=2)
    results = [
        SendResult(by_value["ann@example.com"], Outcome.delivered, provider_id="<m1@x>"),
        SendResult(by_value["bob@example.com"], Outcome.refused, error="550 no such user"),
        SendResult(by_value["d1@example.com"], Outcome.failed, error="400 chat not found"),
        SendResult(by_value["d2@example.com"], Outcome.retry, error="421 busy"),
        SendResult(by_value["d3@example.com"], Outcome.retry, error="429", retry_after=30),
    ]

    with StatementCounter(db_engine) as counter:
        await queue.complete(results, now, POLICY)
    assert len(counter.containing("UPDATE deliveries")) == 1

    got = {row["value"]: row for row in (await rows(db_engine, run)).values()}
    ann, bob, d1, d2, d3 = (
        got[f"{name}@example.com"] for name in ("ann", "bob", "d1", "d2", "d3")
    )
    assert (ann["status"], ann["provider_message_id"], ann["last_error"]) == (
        "delivered",
        "<m1@x>",
        None,
    )
    assert (bob["status"], bob["last_error"]) == ("refused", "550 no such user")
    assert bob["refused_at"] == now and ann["refused_at"] is None  # suppressed everywhere
    assert (d1["status"], d1["last_error"]) == ("failed", "400 chat not found")
    assert (d2["status"], d2["last_error"], d2["attempts"]) == ("pending", "421 busy", 1)
    assert now <= d2["next_attempt_at"] <= now + POLICY.base
    assert d3["next_attempt_at"] == now + timedelta(seconds=30)  # the channel's retry_after
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(
        pending=2, delivered=1, failed=1, refused=1
    )

    # The refused address is left out of the next launch.
    later_run = await add_run(uow_factory, slot=T0 + timedelta(days=1))
    assert await queue.snapshot(later_run, [a, b], [AddressKind.email]) == 1


async def test_a_retry_fails_with_the_last_error_once_attempts_are_exhausted(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 1, "r")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    now, seen = T0, []
    for attempt in range(POLICY.max_attempts):
        [outbound] = await queue.claim(10, now)
        seen.append(outbound.attempts)
        await queue.complete(
            [SendResult(outbound.delivery_id, Outcome.retry, error=f"451 try {attempt}")],
            now,
            POLICY,
        )
        assert await queue.claim(10, now) == []  # backing off (retry_after absent)
        now += POLICY.cap
    assert seen == [0, 1, 2]
    [row] = (await rows(db_engine, run)).values()
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 3, "451 try 2")
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(failed=1)


async def test_an_unreachable_channel_spends_no_attempt_however_long_it_lasts(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 1, "u")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    now, seen = T0, []
    for _ in range(POLICY.max_attempts * 3):  # far more tries than the policy allows
        [outbound] = await queue.claim(10, now)
        seen.append(outbound.attempts)
        result = SendResult(outbound.delivery_id, Outcome.unreachable, "down", retry_after=5)
        due = await queue.complete([result], now, POLICY, {outbound.delivery_id: outbound.claim})
        assert due == now + timedelta(seconds=5)  # the channel's next probe
        assert await queue.claim(10, now) == []
        now += timedelta(seconds=5)
    assert set(seen) == {0}  # every try was the first: nothing was spent
    [row] = (await rows(db_engine, run)).values()
    assert (row["status"], row["attempts"]) == ("pending", 0)
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(pending=1)


async def test_a_stale_result_changes_nothing(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 2, "s")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    first, second = await queue.claim(2, T0)
    await queue.complete([SendResult(first.delivery_id, Outcome.delivered)], T0, POLICY)
    assert (
        await queue.requeue_expired(timedelta(minutes=1), T0 + timedelta(minutes=2), POLICY) == 1
    )
    before = await rows(db_engine, run)

    stale = [
        SendResult(first.delivery_id, Outcome.failed, error="late"),  # already delivered
        SendResult(second.delivery_id, Outcome.delivered),  # requeued: pending again
        SendResult(999_999, Outcome.delivered),  # no such row
    ]
    await queue.complete(stale, T0 + timedelta(minutes=3), POLICY)
    await queue.complete([], T0, POLICY)

    assert await rows(db_engine, run) == before
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(
        pending=1, delivered=1
    )


async def test_refusal_events_are_stored_with_the_results_or_not_at_all(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    """Issue 22: a batch's ``delivery.refused`` events go into the webhook outbox in the
    transaction of its results, so no crash can keep the results and lose the events."""
    listed = await add_bulk_list(db_engine, 3, "w")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    async with uow_factory() as uow:
        await uow.webhooks.add(Endpoint("https://a.example", "whsec_a", frozenset(EventType), 1))
        await uow.commit()
    first, second, third = await queue.claim(3, T0)

    def told(outbound: Outbound, reason: str | None = "550") -> Event:
        refusal = Refusal(run, outbound.delivery_id, "email", outbound.value, reason)
        return delivery_refused(refusal, T0)

    # An event that cannot be written (its body is no JSON) undoes the results with it.
    broken = told(first)
    broken = Event(broken.id, broken.type, T0, {"reason": object()})
    results = [
        SendResult(first.delivery_id, Outcome.refused, "550"),
        SendResult(second.delivery_id, Outcome.delivered),
    ]
    with pytest.raises(TypeError):
        await queue.complete(results, T0, POLICY, events={first.delivery_id: broken})
    assert {row["status"] for row in (await rows(db_engine, run)).values()} == {"sending"}
    assert await outbox(uow_factory) == []

    # Written again (the worker tries again): both land, one outbox row per event.
    events = {first.delivery_id: told(first)}
    await queue.complete(results, T0, POLICY, events=events)
    assert await outbox(uow_factory) == [told(first).id]
    got = {row["value"]: row["status"] for row in (await rows(db_engine, run)).values()}
    assert sorted(got.values()) == ["delivered", "refused", "sending"]

    # Only the events of rows written now: a late result (the row is final already)
    # tells nothing, the third row's refusal is told.
    late = {first.delivery_id: told(first, "late"), third.delivery_id: told(third)}
    await queue.complete(
        [
            SendResult(first.delivery_id, Outcome.refused, "late"),
            SendResult(third.delivery_id, Outcome.refused, "550"),
        ],
        T0,
        POLICY,
        events=late,
    )
    assert await outbox(uow_factory) == [told(first).id, told(third).id]


async def outbox(uow_factory: UnitOfWorkFactory) -> list[str]:
    """The event ids waiting in the outbox, oldest first."""
    async with uow_factory() as uow:
        claimed = await uow.webhooks.claim(T0 + timedelta(days=1), timedelta(0), 100)
        # a claim is only a way to read them here: nothing is committed
    return [c.item.event_id for c in claimed]


# -- leases and the end of a run ---------------------------------------------------------


async def test_requeue_expired_returns_only_rows_past_their_lease(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 5, "q")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    old = await queue.claim(3, T0)
    await queue.claim(2, T0 + timedelta(seconds=50))
    lease = timedelta(seconds=60)

    assert await queue.requeue_expired(lease, T0 + timedelta(seconds=60), POLICY) == 0  # not older
    assert await queue.requeue_expired(lease, T0 + timedelta(seconds=61), POLICY) == 3
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(pending=5)
    again = await queue.claim(10, T0 + timedelta(seconds=62))
    assert [o.delivery_id for o in again] == [o.delivery_id for o in old]
    assert {o.attempts for o in again} == {1}  # the lost attempt still counts


async def test_requeue_fails_a_delivery_whose_worker_keeps_dying(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 2, "z")
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    await queue.snapshot(run, [listed], [AddressKind.email])
    lease, now = timedelta(seconds=60), T0
    doomed, fine = await queue.claim(2, now)
    await queue.complete(
        [SendResult(fine.delivery_id, Outcome.retry, error="451 busy")], now, POLICY
    )
    for lost in range(1, POLICY.max_attempts + 1):  # the worker dies with it every time
        if lost > 1:
            now += timedelta(minutes=10)
            [again] = await queue.claim(1, now)
            assert again.delivery_id == doomed.delivery_id and again.attempts == lost - 1
        assert await queue.requeue_expired(lease, now, POLICY) == 0  # not expired yet
        assert await queue.requeue_expired(lease, now + lease * 2, POLICY) == 1
        kept = await assert_totals_match_rows(uow_factory, db_engine, run)
        if lost < POLICY.max_attempts:
            assert (kept.pending, kept.failed) == (2, 0)
    row = (await rows(db_engine, run))[doomed.delivery_id]
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "failed",
        POLICY.max_attempts,
        f"worker lost this delivery {POLICY.max_attempts} times (died or stalled)",
    )
    assert await assert_totals_match_rows(uow_factory, db_engine, run) == RunTotals(
        pending=1, failed=1
    )
    assert await queue.requeue_expired(lease, now + lease * 10, POLICY) == 0
    [left] = await queue.claim(10, now + timedelta(hours=2))
    assert left.delivery_id == fine.delivery_id  # the other row keeps its own error
    assert (await rows(db_engine, run))[fine.delivery_id]["last_error"] == "451 busy"


async def test_finish_drained_runs_completes_running_runs_with_nothing_left(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    listed = await add_bulk_list(db_engine, 2, "f")
    done = await add_run(uow_factory, slot=T0)
    busy = await add_run(uow_factory, slot=T0 + timedelta(hours=1))
    paused = await add_run(uow_factory, RunStatus.paused, slot=T0 + timedelta(hours=2))
    queue = SqlDeliveryQueue(db_engine)
    for run in (done, busy):
        await queue.snapshot(run, [listed], [AddressKind.email])
    batch = await queue.claim(3, T0)  # both of `done`, one of `busy`
    finished_at = T0 + timedelta(minutes=1)
    await queue.complete(
        [SendResult(o.delivery_id, Outcome.delivered) for o in batch if o.run_id == done],
        T0,
        POLICY,
    )

    assert [r.id for r in await finish_drained_runs(uow_factory, finished_at)] == [done]
    assert await finish_drained_runs(uow_factory, finished_at) == []
    async with uow_factory() as uow:
        states = {r: await uow.runs.get(r) for r in (done, busy, paused)}
    assert {r: (s.status, s.finished_at) for r, s in states.items() if s} == {
        done: (RunStatus.completed, finished_at),
        busy: (RunStatus.running, None),
        paused: (RunStatus.paused, None),
    }
