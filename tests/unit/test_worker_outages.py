"""A database outage stops no worker for good: every step of ``run_forever`` that fails
(requeue, claim, record) is tried again after a backoff, and what was sent before the
outage is recorded once the database is back, never sent twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import pytest

from domain.backoff import Backoff, short_error
from domain.delivery import Message, Outbound, RetryPolicy, RunContent, SendResult
from domain.mailings import Channel
from domain.usecases.deliver import Worker
from domain.usecases.heartbeat import Heartbeat
from domain.webhooks import Event
from domain.workers import Liveness
from tests.unit.test_heartbeat import Clock, Registry
from tests.unit.test_heartbeat import Queue as RequeueLog
from tests.unit.test_worker_pipeline import Channel_, Queue, Renderer, Uow


class Outage(ConnectionRefusedError):
    def __init__(self) -> None:
        super().__init__("Connect call failed ('127.0.0.1', 5432)\nBackground: a long text")


class FlakyQueue(Queue):
    """The pipeline test's queue behind a database that can be down."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.down = False
        self.failures: dict[str, int] = {}
        self.sent: list[int] = []

    def _check(self, step: str) -> None:
        if self.down:
            self.failures[step] = self.failures.get(step, 0) + 1
            raise Outage()

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        self._check("claim")
        return await super().claim(limit, now, worker)

    async def complete(
        self,
        results: Sequence[SendResult],
        now: datetime,
        policy: RetryPolicy,
        claims: Mapping[int, int] | None = None,
        events: Mapping[int, Event] | None = None,
    ) -> datetime | None:
        self._check("complete")
        return await super().complete(results, now, policy, claims, events)

    async def requeue_expired(
        self,
        lease: timedelta,
        now: datetime,
        policy: RetryPolicy,
        dead_before: datetime | None = None,
    ) -> int:
        self._check("requeue")
        return 0


class CountingChannel(Channel_):
    def __init__(self, queue: FlakyQueue, down_after: int | None = None) -> None:
        super().__init__()
        self.queue, self.down_after = queue, down_after

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        results = await super().send(content, messages)
        self.queue.sent += [r.delivery_id for r in results]
        if self.down_after is not None and len(self.queue.sent) >= self.down_after:
            self.queue.down = True  # the database goes away while this batch is out
            self.down_after = None
        return results


def make_worker(queue: FlakyQueue, channel: Channel_) -> tuple[Worker, asyncio.Event]:
    worker = Worker(
        queue=queue,  # type: ignore[arg-type]
        channels={Channel.telegram: channel},
        renderer=Renderer(),  # type: ignore[arg-type]
        uow_factory=lambda: Uow(queue),  # type: ignore[arg-type,return-value]
        batch_size=10,
    )
    worker._contents[1] = RunContent(1, "m", Channel.telegram, "hi")
    finished = asyncio.Event()

    async def on_finished(run_ids: list[int]) -> None:
        finished.set()

    worker.on_finished = on_finished
    return worker, finished


async def wait_for(predicate: Callable[[], bool], within: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_worker_survives_a_failed_requeue_while_idle_and_resumes() -> None:
    queue = FlakyQueue(0)  # nothing to do: the worker idles and requeues
    worker, finished = make_worker(queue, Channel_())
    stop = asyncio.Event()
    queue.down = True
    task = asyncio.create_task(worker.run_forever(stop, idle=0.01))
    await wait_for(lambda: queue.failures.get("requeue", 0) + queue.failures.get("claim", 0) >= 2)
    assert not task.done()  # before: the first idle requeue ended the worker for good
    queue.left = list(range(1, 31))  # work arrives while the database is still away
    queue.finished = False
    queue.down = False
    await asyncio.wait_for(finished.wait(), 20)
    stop.set()
    await task
    assert sorted(queue.recorded) == list(range(1, 31))


async def test_results_sent_before_an_outage_are_recorded_after_it_and_never_resent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = FlakyQueue(60)
    channel = CountingChannel(queue, down_after=25)
    worker, finished = make_worker(queue, channel)
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="domain.usecases.deliver")
    task = asyncio.create_task(worker.run_forever(stop, idle=0.01))
    await wait_for(lambda: queue.failures.get("complete", 0) >= 2)
    await asyncio.sleep(0.3)
    assert not task.done()
    queue.down = False
    await asyncio.wait_for(finished.wait(), 20)
    stop.set()
    await task
    assert sorted(queue.sent) == list(range(1, 61))  # each sent once
    assert sorted(queue.recorded) == list(range(1, 61))  # each recorded once
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all("\n" not in line and "Background" not in line for line in warnings)
    assert any("database answers again" in r.getMessage() for r in caplog.records)


async def test_the_backoff_doubles_up_to_its_cap_and_a_success_resets_it() -> None:
    backoff = Backoff(first=0.5, cap=5.0)
    assert [backoff.failed() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.succeeded() == 6
    assert backoff.succeeded() == 0
    assert backoff.failed() == 0.5
    with pytest.raises(ValueError):
        Backoff(first=0)
    assert short_error(Outage()) == "Outage: Connect call failed ('127.0.0.1', 5432)"


async def test_a_heartbeat_back_from_an_outage_stamps_itself_before_requeueing() -> None:
    registry, requeues, clock = Registry(), RequeueLog(), Clock()
    beat = Heartbeat(
        registry=registry,  # type: ignore[arg-type]
        queue=requeues,  # type: ignore[arg-type]
        name="host:1",
        liveness=Liveness(timedelta(seconds=5)),
        clock=clock,
    )
    worker_id = await beat.start()
    clock.at += timedelta(seconds=40)  # the database was away: no beat went through
    await beat.requeue_lost()
    # Its own row is fresh before the requeue looks for dead workers: the batches it has
    # not recorded yet are not taken from it.
    assert registry.rows[worker_id] == clock.at
    assert requeues.requeues[-1][1] == clock.at - timedelta(seconds=15)


async def test_workers_wait_for_a_database_that_is_not_up_at_start() -> None:
    registry, requeues, clock = Registry(), RequeueLog(), Clock()
    attempts = 0
    real_register = registry.register

    async def register(name: str, now: datetime) -> int:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise Outage()
        return await real_register(name, now)

    registry.register = register  # type: ignore[method-assign]
    beat = Heartbeat(
        registry=registry,  # type: ignore[arg-type]
        queue=requeues,  # type: ignore[arg-type]
        name="host:1",
        clock=clock,
    )
    assert await beat.start_when_up(asyncio.Event()) == 1  # after 0.5 s + 1 s
    stopped = asyncio.Event()
    stopped.set()
    other = Heartbeat(registry, requeues, "host:2")  # type: ignore[arg-type]
    assert await other.start_when_up(stopped) is None
