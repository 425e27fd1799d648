"""Worker.run_forever: one batch of overlap, never more; one result per claimed row."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.delivery import Message, Outbound, Outcome, RetryPolicy, RunContent, SendResult
from domain.mailings import Channel
from domain.recipients import AddressKind
from domain.runs import MailingRun
from domain.usecases.deliver import Worker
from domain.webhooks import Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Queue:
    def __init__(self, count: int) -> None:
        self.left = list(range(1, count + 1))
        self.recorded: list[int] = []
        self.recording = 0
        self.most_recording = 0
        self.unrecorded_claims = 0
        self.most_unrecorded = 0
        self.finished = False
        self.limits: list[int] = []

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        self.limits.append(limit)
        ids, self.left = self.left[:limit], self.left[limit:]
        self.unrecorded_claims += len(ids)
        self.most_unrecorded = max(self.most_unrecorded, self.unrecorded_claims)
        return [Outbound(i, 1, i, AddressKind.telegram, str(i), {}, 0) for i in ids]

    async def complete(
        self,
        results: Sequence[SendResult],
        now: datetime,
        policy: RetryPolicy,
        claims: Mapping[int, int] | None = None,
        events: Mapping[int, Event] | None = None,
    ) -> datetime | None:
        assert not events  # every message is delivered: no refusal to tell
        self.recording += 1
        self.most_recording = max(self.most_recording, self.recording)
        await asyncio.sleep(0.01)
        self.recorded += [r.delivery_id for r in results]
        self.unrecorded_claims -= len(results)
        self.recording -= 1
        return None

    async def requeue_expired(
        self,
        lease: timedelta,
        now: datetime,
        policy: RetryPolicy,
        dead_before: datetime | None = None,
    ) -> int:
        return 0

    def drained(self) -> list[MailingRun]:
        if self.left or self.unrecorded_claims or self.finished:
            return []
        self.finished = True
        return [MailingRun(mailing_id=1, scheduled_for=T0, id=1, is_test=True)]


class Uow:
    """The unit of work the worker finishes drained runs in."""

    def __init__(self, queue: Queue) -> None:
        self.runs = self
        self._queue = queue

    async def __aenter__(self) -> Uow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def complete_drained(self, now: datetime) -> list[MailingRun]:
        return self._queue.drained()

    async def commit(self) -> None:
        return None


class Channel_:
    def __init__(self, rate: float | None = None) -> None:
        self.rate = rate  # messages/s; None: 5 ms a batch whatever its size

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        await asyncio.sleep(0.005 if self.rate is None else len(messages) / self.rate)
        return [SendResult(m.outbound.delivery_id, Outcome.delivered) for m in messages]

    async def close(self) -> None:
        return None


class Renderer:
    def render(self, template: str, attributes: Any) -> str:
        return template


async def send_all(queue: Queue, channel: Channel_, batch_size: int, seconds: float) -> None:
    """``run_forever`` until the queue's run is finished."""
    worker = Worker(
        queue=queue,  # type: ignore[arg-type]
        channels={Channel.telegram: channel},
        renderer=Renderer(),  # type: ignore[arg-type]
        uow_factory=lambda: Uow(queue),  # type: ignore[arg-type,return-value]
        batch_size=batch_size,
        batch_seconds=seconds,
    )
    worker._contents[1] = RunContent(1, "m", Channel.telegram, "hi")
    stop = asyncio.Event()
    finished = asyncio.Event()

    async def on_finished(run_ids: list[int]) -> None:
        finished.set()

    worker.on_finished = on_finished
    task = asyncio.create_task(worker.run_forever(stop, idle=0.01))
    await asyncio.wait_for(finished.wait(), 10)
    stop.set()
    await task


async def test_batches_overlap_by_one_and_every_row_is_recorded_once() -> None:
    queue = Queue(95)
    await send_all(queue, Channel_(), batch_size=10, seconds=1.0)
    assert sorted(queue.recorded) == list(range(1, 96))
    assert queue.most_recording == 1
    assert queue.most_unrecorded <= 2 * 10  # the duplicate bound: two batches


async def test_a_fast_channel_gets_growing_batches_up_to_the_batch_size() -> None:
    queue = Queue(3000)
    await send_all(queue, Channel_(), batch_size=500, seconds=1.0)  # 5 ms a batch
    assert queue.limits[:6] == [20, 40, 80, 160, 320, 500]
    assert max(queue.limits) == 500
    assert sorted(queue.recorded) == list(range(1, 3001))


async def test_a_slow_channel_gets_batches_of_about_batch_seconds() -> None:
    queue = Queue(240)  # 1.2 s at 200 a second (400 took 2 s): a few steady batches
    await send_all(queue, Channel_(rate=200), batch_size=1000, seconds=0.2)  # 40 a batch
    steady = queue.limits[3:-1]
    assert steady, queue.limits
    assert all(20 <= limit <= 40 for limit in steady), queue.limits  # never 1,000
    assert sorted(queue.recorded) == list(range(1, 241))


async def test_rendering_a_batch_lets_the_event_loop_turn_every_render_slice() -> None:
    """A batch is rendered in slices with a turn of the loop between them: the sends in
    flight on the same loop (another worker's batch) get their answers meanwhile."""
    turns = 0
    seen_at_send: list[int] = []

    class Counting(Channel_):
        async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
            seen_at_send.append(turns)
            return await super().send(content, messages)

    async def other_work() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    queue = Queue(100)
    worker = Worker(
        queue=queue,  # type: ignore[arg-type]
        channels={Channel.telegram: Counting()},
        renderer=Renderer(),  # type: ignore[arg-type]
        uow_factory=lambda: Uow(queue),  # type: ignore[arg-type,return-value]
        batch_size=100,
        render_slice=10,
    )
    worker._contents[1] = RunContent(1, "m", Channel.telegram, "hi")
    ticker = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    started = turns
    try:
        assert await worker.run_once() == 100
    finally:
        ticker.cancel()
    assert seen_at_send[0] - started >= 9  # a turn after each slice of 10 but the last
    assert sorted(queue.recorded) == list(range(1, 101))
