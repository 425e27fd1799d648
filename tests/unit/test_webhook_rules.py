"""Event webhooks: the rules (``domain.webhooks``: signature, ids, retries, fan-out) and
the use cases on the shared in-memory unit of work (admins only, events emitted where
they happen, the sender's retries and giving up)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from domain import webhooks
from domain.errors import AccessDenied, DomainError, InvalidInput, NotFound
from domain.recipients import Address, AddressKind
from domain.runs import MailingRun, RunStatus, RunTotals
from domain.usecases import launch, retention, subscribers
from domain.usecases import webhooks as hooks
from domain.users import Role, User
from domain.webhooks import (
    Answer,
    Endpoint,
    Event,
    EventType,
    OutboxStatus,
    RetrySchedule,
)
from tests.fakes.memory_uow import MemoryDatabase

ADMIN, MANAGER = 1, 2
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


class Receiver:
    """A ``WebhookPoster`` for rules: answers from a script, keeps what it got."""

    def __init__(self, *statuses: int | None) -> None:
        self.statuses = list(statuses)
        self.got: list[tuple[str, bytes, dict[str, str]]] = []

    async def check(self, url: str) -> str:
        if "10.0.0.1" in url:
            raise DomainError("fetch-forbidden-address", host="10.0.0.1")
        return url

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        self.got.append((url, body, headers))
        status = self.statuses.pop(0) if self.statuses else 200
        return Answer(status, None if status else "connection refused")


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(users=[User(ADMIN, role=Role.admin), User(MANAGER, role=Role.manager)])


def test_the_signature_is_the_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id":"1","type":"run.started"}'
    expected = hmac.new(b"whsec_k", body, hashlib.sha256).hexdigest()
    assert webhooks.signature("whsec_k", body) == f"sha256={expected}"
    assert webhooks.is_genuine("whsec_k", body, f"sha256={expected}")
    assert not webhooks.is_genuine("whsec_k", body + b" ", f"sha256={expected}")
    assert not webhooks.is_genuine("whsec_other", body, f"sha256={expected}")


def test_headers_carry_the_signature_event_id_type_and_timestamp() -> None:
    sent = webhooks.headers("e-1", EventType.run_finished, b"{}", "s", T0)
    assert sent["X-MailForge-Signature"] == webhooks.signature("s", b"{}")
    assert sent["X-MailForge-Event-Id"] == "e-1"
    assert sent["X-MailForge-Event"] == "run.finished"
    assert sent["X-MailForge-Timestamp"] == str(int(T0.timestamp()))
    assert sent["Content-Type"] == "application/json"


def test_events_that_happen_once_have_the_same_id_each_time() -> None:
    run = MailingRun(7, T0, {"channel": "email", "mailing_name": "News"}, id=42)
    assert (
        webhooks.run_started(run, 3, T0).id == webhooks.run_started(run, 3, T0 + timedelta(1)).id
    )
    assert webhooks.run_started(run, 3, T0).id != webhooks.run_finished(run, T0).id
    refusal = webhooks.Refusal(42, 9, "email", "a@example.com", "550 no such user")
    assert webhooks.delivery_refused(refusal, T0).id == webhooks.delivery_refused(refusal, T0).id
    unsub = webhooks.recipient_unsubscribed("email", "a@example.com", "link", T0)
    assert unsub.id != webhooks.recipient_unsubscribed("email", "a@example.com", "link", T0).id


def test_a_finished_run_tells_its_counts() -> None:
    totals = RunTotals(pending=1, delivered=5, failed=2, refused=1)
    run = MailingRun(7, T0, {"channel": "email"}, RunStatus.cancelled, totals, id=42)
    body = json.loads(webhooks.run_finished(run, T0).body())
    assert body["type"] == "run.finished" and body["created_at"] == T0.isoformat()
    assert body["data"]["status"] == "cancelled" and body["data"]["run_id"] == 42
    assert body["data"]["counts"] == {
        "delivered": 5,
        "failed": 2,
        "refused": 1,
        "not_sent": 1,
        "total": 9,
    }


def test_retries_wait_twice_as_long_each_time_up_to_the_cap_then_give_up() -> None:
    schedule = RetrySchedule(timedelta(seconds=10), timedelta(seconds=60), max_attempts=5)
    waits = [schedule.after(n) for n in range(1, 6)]
    assert waits == [timedelta(seconds=s) for s in (10, 20, 40, 60)] + [None]
    with pytest.raises(ValueError):
        RetrySchedule(max_attempts=0)


def test_an_attempt_is_sent_retried_later_or_given_up() -> None:
    schedule = RetrySchedule(timedelta(seconds=10), timedelta(hours=1), max_attempts=2)
    item = webhooks.OutboxItem(1, "e", EventType.run_started, "{}", T0, T0, attempts=1)
    webhooks.outcome(item, Answer(500), T0, schedule)
    assert item.status is OutboxStatus.pending and item.next_at == T0 + timedelta(seconds=10)
    assert item.last_status == 500 and item.last_error == "HTTP 500"
    item.attempts = 2
    webhooks.outcome(item, Answer(None, "timed out"), T0, schedule)
    assert item.status is OutboxStatus.failed and item.last_error == "timed out"
    fine = webhooks.OutboxItem(1, "e", EventType.run_started, "{}", T0, T0, attempts=1)
    webhooks.outcome(fine, Answer(204), T0, schedule)
    assert fine.status is OutboxStatus.sent and fine.last_error is None
    moved = webhooks.OutboxItem(1, "e", EventType.run_started, "{}", T0, T0, attempts=1)
    webhooks.outcome(moved, Answer(301), T0, schedule)  # redirects are not followed
    assert moved.status is OutboxStatus.pending


def test_event_names_are_checked_and_none_means_all() -> None:
    assert webhooks.parse_events(None) == frozenset(webhooks.SUBSCRIBABLE)
    assert webhooks.parse_events(["run.finished"]) == {EventType.run_finished}
    for wrong in (["run.exploded"], ["webhook.test"]):
        with pytest.raises(ValueError):
            webhooks.parse_events(wrong)


def test_each_event_goes_to_the_endpoints_that_want_it() -> None:
    everything = Endpoint("https://a.example/h", "s", frozenset(webhooks.SUBSCRIBABLE), 1, id=1)
    runs_only = Endpoint("https://b.example/h", "s", frozenset({EventType.run_finished}), 1, id=2)
    events = [
        Event("1", EventType.run_finished, T0, {}),
        Event("2", EventType.delivery_refused, T0, {}),
    ]
    items = webhooks.fan_out(events, [everything, runs_only])
    assert sorted((i.endpoint_id, i.event_id) for i in items) == [(1, "1"), (1, "2"), (2, "1")]
    assert all(i.next_at == T0 and i.status is OutboxStatus.pending for i in items)


async def test_only_admins_manage_endpoints_and_urls_are_checked(db: MemoryDatabase) -> None:
    poster = Receiver()
    with pytest.raises(AccessDenied):
        await hooks.add_endpoint(db.uow_factory, poster, MANAGER, "https://crm.example/h")
    with pytest.raises(DomainError) as bad:
        await hooks.add_endpoint(db.uow_factory, poster, ADMIN, "http://10.0.0.1/h")
    assert bad.value.key == "fetch-forbidden-address"
    with pytest.raises(InvalidInput) as unknown:
        await hooks.add_endpoint(db.uow_factory, poster, ADMIN, "https://a.example", ["x.y"])
    assert unknown.value.params["event"] == "x.y"
    assert not db.state.endpoints

    endpoint, secret = await hooks.add_endpoint(
        db.uow_factory, poster, ADMIN, "https://crm.example/h", ["run.finished"]
    )
    assert secret.startswith("whsec_") and endpoint.secret == secret
    assert endpoint.events == {EventType.run_finished}
    assert db.audit[-1].action == "webhook.add"
    with pytest.raises(AccessDenied):
        await hooks.list_endpoints(db.uow_factory, MANAGER)
    with pytest.raises(AccessDenied):
        await hooks.delete_endpoint(db.uow_factory, MANAGER, endpoint.id or 0)
    assert [h.endpoint.url for h in await hooks.list_endpoints(db.uow_factory, ADMIN)] == [
        "https://crm.example/h"
    ]
    await hooks.delete_endpoint(db.uow_factory, ADMIN, endpoint.id or 0)
    with pytest.raises(NotFound):
        await hooks.delete_endpoint(db.uow_factory, ADMIN, endpoint.id or 0)


async def test_a_test_post_is_signed_and_answers_at_once(db: MemoryDatabase) -> None:
    poster = Receiver(503)
    endpoint, secret = await hooks.add_endpoint(db.uow_factory, poster, ADMIN, "https://a.example")
    answer = await hooks.try_endpoint(db.uow_factory, poster, ADMIN, endpoint.id or 0, T0)
    assert answer.status == 503 and not answer.ok
    _, body, sent = poster.got[0]
    assert webhooks.is_genuine(secret, body, sent["X-MailForge-Signature"])
    assert json.loads(body)["type"] == "webhook.test"
    assert not db.outbox  # a test is not queued nor retried


async def test_events_are_stored_once_per_endpoint_and_only_when_someone_listens(
    db: MemoryDatabase,
) -> None:
    refusal = webhooks.delivery_refused(webhooks.Refusal(1, 9, "email", "a@x.example", None), T0)
    assert await hooks.emit_now(db.uow_factory, [refusal]) == 0  # nobody listens: nothing
    assert db.committed == 0
    poster = Receiver()
    await hooks.add_endpoint(db.uow_factory, poster, ADMIN, "https://a.example")
    await hooks.add_endpoint(db.uow_factory, poster, ADMIN, "https://b.example")
    assert await hooks.emit_now(db.uow_factory, [refusal]) == 2
    assert await hooks.emit_now(db.uow_factory, [refusal]) == 0  # the same refusal again
    assert len(db.outbox) == 2


async def test_a_run_tells_its_start_and_its_end_with_counts(db: MemoryDatabase) -> None:
    await hooks.add_endpoint(db.uow_factory, Receiver(), ADMIN, "https://a.example")
    async with db.uow_factory() as uow:
        run = await uow.runs.add(
            MailingRun(5, T0, {"channel": "telegram"}, RunStatus.paused, RunTotals(pending=2))
        )
        test = await uow.runs.add(
            MailingRun(5, T0 + timedelta(1), {}, RunStatus.paused, RunTotals(1), is_test=True)
        )
        await uow.commit()
    assert run is not None and test is not None
    await launch.start_run(db.uow_factory, run.id or 0)
    await launch.start_run(db.uow_factory, test.id or 0)  # test sends tell nothing
    async with db.uow_factory() as uow:
        for one in (run, test):
            stored = await uow.runs.get(one.id or 0)
            assert stored is not None
            stored.totals = RunTotals(delivered=1, refused=stored.totals.pending - 1)
            await uow.runs.update(stored)
        await uow.commit()
    await launch.finish_drained_runs(db.uow_factory, T0)
    told = [json.loads(item.body) for item in db.outbox.values()]
    assert [(b["type"], b["data"]["run_id"]) for b in told] == [
        ("run.started", run.id),
        ("run.finished", run.id),
    ]
    assert told[0]["data"]["recipients"] == 2
    assert told[1]["data"]["counts"]["delivered"] == 1
    assert told[1]["data"]["counts"]["refused"] == 1


async def test_an_unsubscribe_is_told_with_the_address_and_how(db: MemoryDatabase) -> None:
    await hooks.add_endpoint(
        db.uow_factory, Receiver(), ADMIN, "https://a.example", ["recipient.unsubscribed"]
    )
    async with db.uow_factory() as uow:
        chat = await uow.addresses.upsert(Address(AddressKind.telegram, "777", subscribed_at=T0))
        mail = await uow.addresses.upsert(Address(AddressKind.email, "a@x.example"))
        await uow.commit()
    assert await subscribers.unsubscribe_chat(db.uow_factory, 777)
    assert not await subscribers.unsubscribe_chat(db.uow_factory, 777)  # already: nothing
    await subscribers.unsubscribe_address(db.uow_factory, mail.id or 0)
    await subscribers.unsubscribe_address(db.uow_factory, mail.id or 0)
    told = [json.loads(item.body)["data"] for item in db.outbox.values()]
    assert told == [
        {"recipient": {"kind": "telegram", "address": "777"}, "via": "bot"},
        {"recipient": {"kind": "email", "address": "a@x.example"}, "via": "link"},
    ]
    assert chat.id is not None


async def test_the_sender_retries_with_backoff_and_keeps_what_failed(
    db: MemoryDatabase,
) -> None:
    clock = Clock()
    poster = Receiver(500, None, 200, 500, 500, 500)
    endpoint, secret = await hooks.add_endpoint(db.uow_factory, poster, ADMIN, "https://a.ex")
    schedule = RetrySchedule(timedelta(seconds=10), timedelta(minutes=5), max_attempts=3)
    sender = hooks.HookSender(db.uow_factory, poster, clock, schedule)
    first = Event("ev-1", EventType.run_started, T0, {"run_id": 1})
    await hooks.emit_now(db.uow_factory, [first])

    assert await sender.run_once() == 1  # 500
    assert await sender.run_once() == 0  # not due yet
    clock.at += timedelta(seconds=10)
    assert await sender.run_once() == 1  # no answer at all
    clock.at += timedelta(seconds=19)
    assert await sender.run_once() == 0
    clock.at += timedelta(seconds=1)
    assert await sender.run_once() == 1  # 200
    (item,) = db.outbox.values()
    assert item.status is OutboxStatus.sent and item.attempts == 3
    bodies = {body for _, body, _ in poster.got}
    assert bodies == {first.body().encode()}  # every attempt sends the same bytes
    assert all(h["X-MailForge-Event-Id"] == "ev-1" for _, _, h in poster.got)
    assert all(
        webhooks.is_genuine(secret, b, h["X-MailForge-Signature"]) for _, b, h in poster.got
    )

    await hooks.emit_now(db.uow_factory, [Event("ev-2", EventType.run_started, T0, {})])
    clock.at += timedelta(hours=1)
    for _ in range(3):
        await sender.run_once()
        clock.at += timedelta(minutes=5)
    assert await sender.run_once() == 0  # given up after three attempts
    health = await hooks.endpoint_health(db.uow_factory, ADMIN, endpoint.id or 0)
    assert health.pending == 0
    assert [(f.event_id, f.status, f.last_status) for f in health.failures] == [
        ("ev-2", OutboxStatus.failed, 500)
    ]


async def test_a_sender_that_died_mid_send_sends_again_after_the_lease(
    db: MemoryDatabase,
) -> None:
    clock = Clock()
    await hooks.add_endpoint(db.uow_factory, Receiver(), ADMIN, "https://a.example")
    await hooks.emit_now(db.uow_factory, [Event("ev", EventType.run_started, T0, {})])
    async with db.uow_factory() as uow:  # claimed, then the process died
        assert len(await uow.webhooks.claim(T0, timedelta(minutes=2), 10)) == 1
        await uow.commit()
    sender = hooks.HookSender(db.uow_factory, Receiver(), clock)
    assert await sender.run_once() == 0
    clock.at += timedelta(minutes=2)
    assert await sender.run_once() == 1
    assert next(iter(db.outbox.values())).status is OutboxStatus.sent


async def test_sent_events_leave_the_outbox_after_a_week_the_others_stay(
    db: MemoryDatabase,
) -> None:
    clock = Clock()
    await hooks.add_endpoint(db.uow_factory, Receiver(), ADMIN, "https://a.example")
    await hooks.add_endpoint(db.uow_factory, Receiver(), ADMIN, "https://b.example")
    once = RetrySchedule(max_attempts=1)  # a failure is given up at once: kept as failed
    poster = Receiver(200, 200, 200, 200, 500, 500)
    sender = hooks.HookSender(db.uow_factory, poster, clock, once)
    old = [Event(f"old-{i}", EventType.run_started, T0, {}) for i in range(3)]
    await hooks.emit_now(db.uow_factory, old)  # 6 rows: 4 sent, 2 failed
    assert await sender.run_once() == 6
    clock.at += timedelta(days=2)
    await hooks.emit_now(db.uow_factory, [Event("new", EventType.run_started, clock.at, {})])
    assert await sender.run_once() == 2  # sent, but only two days old
    clock.at = T0 + webhooks.SENT_KEPT + timedelta(seconds=1)

    purged = await retention.purge_sent_events(db.uow_factory, clock=clock, batch_size=3)

    assert purged == 4  # in two transactions of at most three rows
    left = sorted((o.event_id, o.status) for o in db.outbox.values())
    assert left == [
        ("new", OutboxStatus.sent),
        ("new", OutboxStatus.sent),
        ("old-2", OutboxStatus.failed),
        ("old-2", OutboxStatus.failed),
    ]
    assert await retention.purge_sent_events(db.uow_factory, clock=clock) == 0
