"""Worker.run_forever: one batch of overlap, never more; one result per claimed row."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.delivery import Message, Outbound, Outcome, RetryPolicy, RunContent, SendResult
from domain.mailings import Channel
from domain.recipients import AddressKind
from domain.runs import MailingRun
from domain.usecases.deliver import Worker

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

    async def claim(self, limit: int, now: datetime) -> list[Outbound]:
        ids, self.left = self.left[:limit], self.left[limit:]
        self.unrecorded_claims += len(ids)
        self.most_unrecorded = max(self.most_unrecorded, self.unrecorded_claims)
        return [Outbound(i, 1, i, AddressKind.telegram, str(i), {}, 0) for i in ids]

    async def complete(
        self, results: Sequence[SendResult], now: datetime, policy: RetryPolicy
    ) -> None:
        self.recording += 1
        self.most_recording = max(self.most_recording, self.recording)
        await asyncio.sleep(0.01)
        self.recorded += [r.delivery_id for r in results]
        self.unrecorded_claims -= len(results)
        self.recording -= 1

    async def requeue_expired(self, lease: timedelta, now: datetime, policy: RetryPolicy) -> int:
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
    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        await asyncio.sleep(0.005)
        return [SendResult(m.outbound.delivery_id, Outcome.delivered) for m in messages]

    async def close(self) -> None:
        return None


class Renderer:
    def render(self, template: str, attributes: Any) -> str:
        return template


async def test_batches_overlap_by_one_and_every_row_is_recorded_once() -> None:
    queue = Queue(95)
    worker = Worker(
        queue=queue,  # type: ignore[arg-type]
        channels={Channel.telegram: Channel_()},
        renderer=Renderer(),  # type: ignore[arg-type]
        uow_factory=lambda: Uow(queue),  # type: ignore[arg-type,return-value]
        batch_size=10,
    )
    worker._contents[1] = RunContent(1, "m", Channel.telegram, "hi")
    stop = asyncio.Event()
    finished = asyncio.Event()

    async def on_finished(run_ids: list[int]) -> None:
        finished.set()

    worker.on_finished = on_finished
    task = asyncio.create_task(worker.run_forever(stop, idle=0.01))
    await asyncio.wait_for(finished.wait(), 5)
    stop.set()
    await task
    assert sorted(queue.recorded) == list(range(1, 96))
    assert queue.most_recording == 1
    assert queue.most_unrecorded <= 2 * 10  # the duplicate bound: two batches
