"""Event webhooks: what happened (a run started or finished, a delivery refused or
bounced, a recipient unsubscribed), told to the URLs admins registered.

Each event is written to an outbox in the same transaction as the change it reports
(``WebhookStore.enqueue``: one row per subscribed endpoint) and sent later by a
background job, so a restart loses nothing. A POST carries the event as JSON, signed
``X-MailForge-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` with the endpoint's
secret, with ``X-MailForge-Event-Id`` and ``X-MailForge-Timestamp`` so receivers can
deduplicate: delivery is at least once. An event about one thing that can only happen
once (a run's start, a delivery's refusal) has an id derived from it, so writing it
twice (a batch recorded again after a crash) still makes one outbox row per endpoint.

A 2xx answer is delivery; anything else (an error, a timeout, a redirect) is tried again
after ``RetrySchedule``'s exponential delays, up to ``max_attempts``, then kept as failed
for the admin to see (``/hooks``, ``GET /api/v1/webhooks/{id}``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.delivery import Outbound, Outcome, SendResult
from domain.runs import MailingRun

SECRET_PREFIX = "whsec_"  # noqa: S105 (a marker, like the API tokens' mf_)
SIGNATURE_HEADER = "X-MailForge-Signature"
EVENT_ID_HEADER = "X-MailForge-Event-Id"
EVENT_TYPE_HEADER = "X-MailForge-Event"
TIMESTAMP_HEADER = "X-MailForge-Timestamp"
URL_MAX = 2000
ERROR_MAX = 300
# Sent outbox rows are only kept this long (the retention job deletes the older ones): a
# sent event is never looked at again, and an event written again that late (its id is
# derived from the thing it tells) does not happen: re-records come within a lease.
SENT_KEPT = timedelta(days=7)
_NAMESPACE = uuid.UUID("5f0c1c52-7b38-4a53-9d0a-8f9c2b3e1d47")  # ids of once-only events


class EventType(enum.StrEnum):
    run_started = "run.started"
    run_finished = "run.finished"
    delivery_refused = "delivery.refused"
    delivery_bounced = "delivery.bounced"
    recipient_unsubscribed = "recipient.unsubscribed"
    ping = "webhook.test"  # the Test button: only to the endpoint tested


SUBSCRIBABLE = tuple(e for e in EventType if e is not EventType.ping)


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # every attempt failed: kept for the admin to see


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: EventType
    occurred_at: datetime
    data: dict[str, Any]

    def body(self) -> str:
        """The exact JSON that is signed and sent (stored, so a retry sends the same)."""
        document = {
            "id": self.id,
            "type": self.type.value,
            "created_at": self.occurred_at.isoformat(),
            "data": self.data,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def once_id(event: EventType, *parts: object) -> str:
    """The id of an event that happens once per thing (a run's start, a refusal)."""
    name = ":".join([event.value, *map(str, parts)])
    return str(uuid.uuid5(_NAMESPACE, name))


def fresh_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class Endpoint:
    url: str
    secret: str
    events: frozenset[EventType]
    created_by: int | None
    id: int | None = None
    created_at: datetime | None = None

    def wants(self, event: EventType) -> bool:
        return event in self.events


@dataclass(slots=True)
class OutboxItem:
    endpoint_id: int
    event_id: str
    event_type: EventType
    body: str
    created_at: datetime
    next_at: datetime
    attempts: int = 0
    status: OutboxStatus = OutboxStatus.pending
    last_status: int | None = None  # the receiver's last HTTP status (None: no answer)
    last_error: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row taken for one attempt, with what sending it needs."""

    item: OutboxItem
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What a receiver answered: an HTTP status, or ``None`` and why there was none."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential backoff: ``first``, then twice as long each time, at most ``cap``;
    ``max_attempts`` in all (the defaults try for about four hours)."""

    first: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 10

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.first <= timedelta(0) or self.cap < self.first:
            raise ValueError("a retry schedule needs attempts >= 1 and 0 < first <= cap")

    def after(self, attempts: int) -> timedelta | None:
        """How long to wait after ``attempts`` failed ones; ``None``: give up."""
        if attempts >= self.max_attempts:
            return None
        wait: timedelta = self.first * 2 ** min(attempts - 1, 30)
        return min(self.cap, wait)


def outcome(item: OutboxItem, answer: Answer, now: datetime, schedule: RetrySchedule) -> None:
    """``item`` after one more attempt (``item.attempts`` already counts it)."""
    item.last_status = answer.status
    if answer.ok:
        item.status, item.last_error = OutboxStatus.sent, None
        return
    item.last_error = (answer.error or f"HTTP {answer.status}")[:ERROR_MAX]
    wait = schedule.after(item.attempts)
    if wait is None:
        item.status = OutboxStatus.failed
    else:
        item.next_at = now + wait


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_genuine(secret: str, body: bytes, header: str) -> bool:
    """How a receiver checks a POST (constant time): for the README's example and tests."""
    return hmac.compare_digest(signature(secret, body), header.strip())


def headers(
    event_id: str, event: EventType, body: bytes, secret: str, now: datetime
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, body),
        EVENT_ID_HEADER: event_id,
        EVENT_TYPE_HEADER: event.value,
        TIMESTAMP_HEADER: str(int(now.timestamp())),
    }


def parse_events(names: Sequence[str] | None) -> frozenset[EventType]:
    """Event names as given (``None`` or empty: all of them); unknown ones raise
    ``ValueError`` with the name."""
    if not names:
        return frozenset(SUBSCRIBABLE)
    chosen = set()
    for name in names:
        try:
            event = EventType(name.strip())
        except ValueError:
            raise ValueError(name) from None
        if event is EventType.ping:
            raise ValueError(name)
        chosen.add(event)
    return frozenset(chosen)


def fan_out(events: Sequence[Event], endpoints: Sequence[Endpoint]) -> list[OutboxItem]:
    """One outbox row per event and endpoint that subscribed to its type."""
    return [
        OutboxItem(
            endpoint_id=endpoint.id,
            event_id=event.id,
            event_type=event.type,
            body=event.body(),
            created_at=event.occurred_at,
            next_at=event.occurred_at,
        )
        for event in events
        for endpoint in endpoints
        if endpoint.id is not None and endpoint.wants(event.type)
    ]


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """An endpoint with its recent trouble, for the admin."""

    endpoint: Endpoint
    pending: int = 0
    failures: list[OutboxItem] = field(default_factory=list)  # newest first


# -- the events -------------------------------------------------------------------------


def run_started(run: MailingRun, recipients: int, now: datetime) -> Event:
    return Event(
        once_id(EventType.run_started, run.id),
        EventType.run_started,
        now,
        {**_run(run), "recipients": recipients},
    )


def run_finished(run: MailingRun, now: datetime) -> Event:
    t = run.totals
    counts = {
        "delivered": t.delivered,
        "failed": t.failed,
        "refused": t.refused,
        "not_sent": t.pending + t.sending,
        "total": t.total,
    }
    return Event(
        once_id(EventType.run_finished, run.id),
        EventType.run_finished,
        now,
        {**_run(run), "status": run.status.value, "counts": counts},
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    run_id: int
    delivery_id: int
    kind: str
    address: str
    reason: str | None


def delivery_refused(refusal: Refusal, now: datetime) -> Event:
    return Event(
        once_id(EventType.delivery_refused, refusal.delivery_id),
        EventType.delivery_refused,
        now,
        {
            "run_id": refusal.run_id,
            "delivery_id": refusal.delivery_id,
            "recipient": {"kind": refusal.kind, "address": refusal.address},
            "reason": refusal.reason,
        },
    )


def refusal_events(
    rows: Iterable[Outbound], results: Iterable[SendResult], now: datetime
) -> dict[int, Event]:
    """The ``delivery.refused`` events of ``results``' refusals, by delivery id, for those
    of ``rows`` (the recipients whose refusals are told: a worker leaves out its test
    sends, recalls and edits), to be written with the results in their transaction
    (``DeliveryResults.complete``: a crash cannot keep one without the other). Their ids
    come from the deliveries, so results recorded twice still tell each refusal once.
    The same for a worker's batch and a mass send's reports."""
    refused = {r.delivery_id: r.error for r in results if r.outcome is Outcome.refused}
    if not refused:
        return {}
    return {
        row.delivery_id: delivery_refused(
            Refusal(
                row.run_id, row.delivery_id, row.kind.value, row.value, refused[row.delivery_id]
            ),
            now,
        )
        for row in rows
        if row.delivery_id in refused
    }


def delivery_bounced(
    run_id: int, delivery_id: int, kind: str, address: str, bounce: str, reason: str | None,
    now: datetime,
) -> Event:  # fmt: skip
    """``bounce``: hard or soft (a soft one may come again for the same delivery)."""
    return Event(
        once_id(EventType.delivery_bounced, delivery_id, bounce, reason),
        EventType.delivery_bounced,
        now,
        {
            "run_id": run_id,
            "delivery_id": delivery_id,
            "recipient": {"kind": kind, "address": address},
            "bounce": bounce,
            "reason": reason,
        },
    )


def recipient_unsubscribed(kind: str, address: str, via: str, now: datetime) -> Event:
    """``via``: ``link`` (an unsubscribe link), ``bot`` (/stop), ``complaint``."""
    return Event(
        fresh_id(),
        EventType.recipient_unsubscribed,
        now,
        {"recipient": {"kind": kind, "address": address}, "via": via},
    )


def ping(endpoint_id: int, now: datetime) -> Event:
    return Event(fresh_id(), EventType.ping, now, {"endpoint_id": endpoint_id})


def _run(run: MailingRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "mailing_id": run.mailing_id,
        "mailing_name": run.content.get("mailing_name"),
        "channel": run.content.get("channel"),
    }


def tells(run: MailingRun) -> bool:
    """Runs that make events: real sends (not test sends, not recalls or edits)."""
    return not run.is_test and not run.is_follow_up
