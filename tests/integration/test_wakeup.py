"""Idle workers wake at once on PostgreSQL (LISTEN/NOTIFY): when a run starts or resumes,
when a dead worker's rows are requeued, and when a retry they wrote falls due.

Each worker here polls only every 60 s, so a send within the few seconds waited proves
the wake-up; the latency itself is printed (and measured by the benches), not asserted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Message, Outbound, Outcome, RetryPolicy, RunContent, SendResult
from domain.mailings import Channel
from domain.usecases import launch
from domain.usecases.deliver import Worker
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.wakeup import PgWorkSignal
from infrastructure.rendering import JinjaRenderer
from tests.integration.test_crash_safety import (
    MANAGER,
    launch_now,
    prepare_mailing,
    uow_of,
    wait_until,
)

SAFETY_POLL = 60.0


@dataclass
class Recorder:
    """A channel that notes when each recipient was sent to; the first attempt of the
    chats in ``busy`` answers retry-after-1-s."""

    busy: set[str] = field(default_factory=set)
    sent: list[tuple[str, float]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        results = []
        for message in messages:
            chat = message.outbound.value
            self.sent.append((chat, time.monotonic()))
            if chat in self.busy and message.outbound.attempts == 0:
                results.append(
                    SendResult(message.outbound.delivery_id, Outcome.retry, "429", None, 1.0)
                )
            else:
                results.append(SendResult(message.outbound.delivery_id, Outcome.delivered))
        self.arrived.set()
        return results

    async def close(self) -> None:
        return None

    async def next_send(self, within: float = 10.0) -> None:
        self.arrived.clear()
        await asyncio.wait_for(self.arrived.wait(), within)


class WatchedQueue(SqlDeliveryQueue):
    """The real queue; ``looked`` is set once a claim has come back."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.looked = asyncio.Event()

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        found = await super().claim(limit, now, worker)
        self.looked.set()
        return found


@pytest.fixture
async def pg_url(migrated_pg_url: str) -> AsyncIterator[str]:
    """The worker's session database, emptied: LISTEN/NOTIFY are per database, and the
    tests of one process run one at a time. A database of its own per test cost 1.5-3 s
    of CREATE and DROP DATABASE (each waits for a checkpoint of the whole shared server),
    more than the test itself. The triggers a test turned off come back even if it failed."""
    yield migrated_pg_url
    engine = create_engine(migrated_pg_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE mailing_runs ENABLE TRIGGER USER"))
    finally:
        await engine.dispose()


@pytest.fixture
async def engines(pg_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The bot's engine and the worker's, as in ``mailforge run``."""
    bot, worker = create_engine(pg_url), create_engine(pg_url)
    yield bot, worker
    await bot.dispose()
    await worker.dispose()


@pytest.fixture
async def signal(pg_url: str) -> AsyncIterator[PgWorkSignal]:
    listening = PgWorkSignal(pg_url, safety_poll=SAFETY_POLL)
    await listening.start()
    yield listening
    await listening.close()


@pytest.fixture
async def worker(
    engines: tuple[AsyncEngine, AsyncEngine], signal: PgWorkSignal
) -> AsyncIterator[tuple[Worker, Recorder]]:
    channel = Recorder()
    engine = engines[1]
    queue = WatchedQueue(engine)
    running = Worker(
        queue=queue,
        channels={Channel.telegram: channel},
        renderer=JinjaRenderer(),
        uow_factory=make_uow_factory(create_session_factory(engine)),
        policy=RetryPolicy(max_attempts=3),
        signal=signal,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(running.run_forever(stop))
    await asyncio.wait_for(queue.looked.wait(), 10)  # it found nothing and waits
    yield running, channel
    stop.set()
    await task


async def start_run(engine: AsyncEngine, chats: Sequence[int]) -> tuple[int, float]:
    """A launch through the use case; the run and when it was started."""
    mailing_id = await prepare_mailing(uow_of(engine), chats)
    await launch_now(engine, mailing_id)
    return mailing_id, time.monotonic()


async def test_an_idle_worker_wakes_when_a_run_starts(
    engines: tuple[AsyncEngine, AsyncEngine], worker: tuple[Worker, Recorder]
) -> None:
    _, channel = worker
    waiting = asyncio.create_task(channel.next_send())
    _, started = await start_run(engines[0], [1001, 1002])
    await waiting
    print(f"\nfirst send {1000 * (channel.sent[0][1] - started):.0f} ms after the run started")
    assert [chat for chat, _ in channel.sent][:2] == ["1001", "1002"]


async def test_an_idle_worker_wakes_when_a_run_resumes(
    engines: tuple[AsyncEngine, AsyncEngine], worker: tuple[Worker, Recorder]
) -> None:
    _, channel = worker
    uow_factory = uow_of(engines[0])
    mailing_id = await prepare_mailing(uow_factory, [2001])
    # Paused before any worker took it: the run stays in the queue.
    async with engines[0].begin() as conn:
        await conn.execute(text("ALTER TABLE mailing_runs DISABLE TRIGGER USER"))
    await launch_now(engines[0], mailing_id)
    await launch.set_paused(uow_factory, actor_id=MANAGER, mailing_id=mailing_id, paused=True)
    async with engines[0].begin() as conn:
        await conn.execute(text("ALTER TABLE mailing_runs ENABLE TRIGGER USER"))
    assert channel.sent == []

    waiting = asyncio.create_task(channel.next_send())
    await launch.set_paused(uow_factory, actor_id=MANAGER, mailing_id=mailing_id, paused=False)
    await waiting
    assert [chat for chat, _ in channel.sent] == ["2001"]


async def test_an_idle_worker_wakes_when_a_retry_it_wrote_falls_due(
    engines: tuple[AsyncEngine, AsyncEngine], worker: tuple[Worker, Recorder]
) -> None:
    _, channel = worker
    channel.busy.add("3001")
    first = asyncio.create_task(channel.next_send())
    await start_run(engines[0], [3001])
    await first
    again = asyncio.create_task(channel.next_send())
    await again  # 1 s later (retry_after), not at the 60-s poll
    (chat, tried), (_, retried) = channel.sent
    print(f"\nretried {retried - tried:.2f} s after a retry-after of 1 s")
    assert chat == "3001" and retried - tried >= 1.0


async def test_requeued_rows_wake_the_idle_workers_of_every_process(
    engines: tuple[AsyncEngine, AsyncEngine], worker: tuple[Worker, Recorder]
) -> None:
    _, channel = worker
    bot = engines[0]
    # A run whose only recipient a dead process claimed; launched with the trigger off so
    # that only the requeue's notification can wake the worker.
    async with bot.begin() as conn:
        await conn.execute(text("ALTER TABLE mailing_runs DISABLE TRIGGER USER"))
    await start_run(bot, [4001])
    async with bot.begin() as conn:
        await conn.execute(text("ALTER TABLE mailing_runs ENABLE TRIGGER USER"))
    queue = SqlDeliveryQueue(bot)
    [lost] = await queue.claim(1, datetime.now(UTC), worker=999)  # a process since gone
    waiting = asyncio.create_task(channel.next_send())
    moved = await queue.requeue_expired(timedelta(minutes=5), datetime.now(UTC), RetryPolicy())
    assert moved == 1
    await waiting
    assert [chat for chat, _ in channel.sent] == ["4001"] and lost.value == "4001"


async def test_a_lost_listening_connection_falls_back_to_polling_and_comes_back(
    engines: tuple[AsyncEngine, AsyncEngine], signal: PgWorkSignal
) -> None:
    assert signal.listening and signal.poll_every == SAFETY_POLL
    woken = signal.listen()
    async with engines[0].begin() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE 'LISTEN%' AND datname = current_database()"
            )
        )
    await wait_until(lambda: not signal.listening, 10, "the connection to drop")
    assert signal.poll_every == 0.5  # polling while deaf
    woken.clear()
    await wait_until(lambda: signal.listening, 10, "listening again")
    assert woken.is_set()  # back, and its workers look again (a signal may have been missed)
