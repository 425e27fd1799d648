"""The heartbeat rule (domain.workers) and the heartbeat use case against in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.delivery import RetryPolicy
from domain.usecases.heartbeat import Heartbeat
from domain.workers import Liveness

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_worker_is_dead_after_three_silent_beats() -> None:
    liveness = Liveness(timedelta(seconds=5))
    assert liveness.silence == timedelta(seconds=15)
    assert liveness.dead_before(T0) == T0 - timedelta(seconds=15)
    assert liveness.requeue_within == timedelta(seconds=20)  # well within 30 s


def test_a_lease_must_outlast_a_workers_allowed_silence() -> None:
    liveness = Liveness(timedelta(seconds=5))
    assert liveness.lease_problem(timedelta(seconds=15)) is None
    problem = liveness.lease_problem(timedelta(seconds=14))
    assert problem is not None and "at least 3 heartbeats (15 s)" in problem


def test_a_heartbeat_needs_an_interval_and_room_for_a_missed_beat() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        Liveness(timedelta(0))
    with pytest.raises(ValueError, match="heartbeat"):
        Liveness(timedelta(seconds=5), missed=1)


class Registry:
    def __init__(self) -> None:
        self.rows: dict[int, datetime] = {}
        self.next_id = 1

    async def register(self, name: str, now: datetime) -> int:
        self.rows[self.next_id] = now
        self.next_id += 1
        return self.next_id - 1

    async def beat(self, worker_id: int, now: datetime) -> bool:
        if worker_id not in self.rows:
            return False
        self.rows[worker_id] = now
        return True

    async def forget_dead(self, dead_before: datetime) -> int:
        dead = [i for i, at in self.rows.items() if at < dead_before]
        for worker_id in dead:
            del self.rows[worker_id]
        return len(dead)

    async def retire(self, worker_id: int) -> None:
        self.rows.pop(worker_id, None)


class Queue:
    """Notes how each requeue judged the workers."""

    def __init__(self) -> None:
        self.requeues: list[tuple[timedelta, datetime | None]] = []

    async def requeue_expired(
        self,
        lease: timedelta,
        now: datetime,
        policy: RetryPolicy,
        dead_before: datetime | None = None,
    ) -> int:
        self.requeues.append((lease, dead_before))
        return 0


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


def make(registry: Registry, queue: Queue, clock: Clock) -> Heartbeat:
    return Heartbeat(
        registry=registry,  # type: ignore[arg-type]
        queue=queue,  # type: ignore[arg-type]
        name="host:1",
        liveness=Liveness(timedelta(seconds=5)),
        lease=timedelta(minutes=5),
        clock=clock,
    )


async def test_starting_registers_and_requeues_what_dead_workers_left_at_once() -> None:
    registry, queue, clock = Registry(), Queue(), Clock()
    beat = make(registry, queue, clock)
    assert await beat.start() == 1
    assert queue.requeues == [(timedelta(minutes=5), T0 - timedelta(seconds=15))]


async def test_each_beat_stamps_forgets_the_dead_and_requeues() -> None:
    registry, queue, clock = Registry(), Queue(), Clock()
    beat, silent = make(registry, queue, clock), make(registry, queue, clock)
    await beat.start()
    await silent.start()
    clock.at += timedelta(seconds=16)
    await beat.beat()
    assert registry.rows == {1: clock.at}  # the silent one is forgotten
    assert queue.requeues[-1][1] == clock.at - timedelta(seconds=15)


async def test_a_worker_forgotten_while_alive_goes_on_under_a_new_id() -> None:
    registry, queue, clock = Registry(), Queue(), Clock()
    beat = make(registry, queue, clock)
    await beat.start()
    registry.rows.clear()  # another process judged it dead
    await beat.beat()
    assert beat.worker_id == 2 and 2 in registry.rows
    await beat.retire()
    assert registry.rows == {} and beat.worker_id is None
