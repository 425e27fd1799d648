"""The worker's ``delivery.refused`` events travel with the batch's results: one
``DeliveryResults.complete`` stores both in one transaction (issue 22). Before, they were
written in a transaction of their own after the results, and a crash in between lost
them. The SQL side (both stored or neither) is in ``tests/integration/db/test_queue.py``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.delivery import Message, Outbound, Outcome, RetryPolicy, RunContent, SendResult
from domain.mailings import Channel
from domain.recipients import AddressKind
from domain.runs import MailingRun, RunStatus
from domain.usecases import webhooks as hooks
from domain.usecases.deliver import Worker
from domain.users import Role, User
from domain.webhooks import Answer, Event, EventType
from tests.fakes.memory_uow import MemoryDatabase

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ADMIN = 1
REFUSED = {"2", "4"}  # chats that blocked the bot


class Queue:
    """A claim of the rows given; ``complete`` fails ``down`` times, then keeps what it got."""

    def __init__(self, rows: Sequence[Outbound], down: int = 0) -> None:
        self.rows = list(rows)
        self.down = down
        self.calls = 0
        self.recorded: list[tuple[list[SendResult], dict[int, Event]]] = []

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        taken, self.rows = self.rows[:limit], self.rows[limit:]
        return taken

    async def complete(
        self,
        results: Sequence[SendResult],
        now: datetime,
        policy: RetryPolicy,
        claims: Mapping[int, int] | None = None,
        events: Mapping[int, Event] | None = None,
    ) -> datetime | None:
        self.calls += 1
        if self.down:
            self.down -= 1
            raise ConnectionError("the database is away")
        self.recorded.append((list(results), dict(events or {})))
        return None


class Chats:
    """A Telegram channel whose ``REFUSED`` chats blocked the bot."""

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        return [
            SendResult(m.outbound.delivery_id, Outcome.refused, "Forbidden: bot was blocked")
            if m.outbound.value in REFUSED
            else SendResult(m.outbound.delivery_id, Outcome.delivered)
            for m in messages
        ]

    async def close(self) -> None:
        return None


class Renderer:
    def render(self, template: str, values: Any) -> str:
        return template

    def render_text(self, template: str, values: Any) -> str:
        return template


class Receiver:
    async def check(self, url: str) -> str:
        return url

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        return Answer(200, None)


async def a_database() -> tuple[MemoryDatabase, int, int]:
    """A listening endpoint, a run and a test send (the test tells nothing)."""
    db = MemoryDatabase(users=[User(ADMIN, role=Role.admin)])
    await hooks.add_endpoint(db.uow_factory, Receiver(), ADMIN, "https://a.example")
    content = RunContent(7, "News", Channel.telegram, "hi").to_json()
    async with db.uow_factory() as uow:
        run = await uow.runs.add(MailingRun(7, T0, content, RunStatus.running))
        test = await uow.runs.add(
            MailingRun(7, T0 + timedelta(1), content, RunStatus.running, is_test=True)
        )
        await uow.commit()
    assert run.id is not None and test.id is not None
    return db, run.id, test.id


def rows(run_id: int, first_id: int, chats: Sequence[str]) -> list[Outbound]:
    return [
        Outbound(first_id + i, run_id, first_id + i, AddressKind.telegram, chat, {}, 0)
        for i, chat in enumerate(chats)
    ]


def refusals_outside(db: MemoryDatabase) -> list[str]:
    return [o.event_id for o in db.outbox.values() if o.event_type is EventType.delivery_refused]


def worker(queue: Queue, db: MemoryDatabase) -> Worker:
    return Worker(
        queue=queue,  # type: ignore[arg-type]
        channels={Channel.telegram: Chats()},  # type: ignore[dict-item]
        renderer=Renderer(),  # type: ignore[arg-type]
        uow_factory=db.uow_factory,
        batch_size=10,
    )


async def test_a_batchs_refusals_go_to_the_queue_with_its_results() -> None:
    db, run_id, test_id = await a_database()
    queue = Queue([*rows(run_id, 1, ["1", "2", "3", "4"]), *rows(test_id, 11, ["2"])])

    assert await worker(queue, db).run_once() == 5

    [(results, events)] = queue.recorded
    assert {r.delivery_id: r.outcome for r in results} == {
        1: Outcome.delivered,
        2: Outcome.refused,
        3: Outcome.delivered,
        4: Outcome.refused,
        11: Outcome.refused,  # a test send's refusal: recorded, never told
    }
    assert sorted(events) == [2, 4]
    told = {i: json.loads(e.body())["data"] for i, e in events.items()}
    assert told[2] == {
        "run_id": run_id,
        "delivery_id": 2,
        "recipient": {"kind": "telegram", "address": "2"},
        "reason": "Forbidden: bot was blocked",
    }
    assert told[4]["recipient"]["address"] == "4"
    # Nothing written beside the queue's transaction: the outbox of the unit of work
    # holds no refusal the queue did not store with its results (the drained runs'
    # ``run.finished`` are told there, by ``finish_drained_runs``).
    assert refusals_outside(db) == []


async def test_a_record_that_fails_is_tried_again_with_its_events() -> None:
    db, run_id, _ = await a_database()
    queue = Queue(rows(run_id, 1, ["1", "2"]), down=1)

    assert await worker(queue, db).run_once() == 2

    assert queue.calls == 2  # a failed write, then the one that stored
    [(results, events)] = queue.recorded
    assert [r.outcome for r in results] == [Outcome.delivered, Outcome.refused]
    assert list(events) == [2]  # the refusal is told by the write that recorded it
    assert refusals_outside(db) == []


async def test_a_batch_without_refusals_tells_nothing() -> None:
    db, run_id, _ = await a_database()
    queue = Queue(rows(run_id, 1, ["1", "3"]))

    await worker(queue, db).run_once()

    [(results, events)] = queue.recorded
    assert len(results) == 2 and events == {}
