"""The delivery engine's vocabulary: what a worker claims, what a channel answers.

The ``deliveries`` table is the work queue. A launch snapshots a run's recipients into
it in one set-based statement; workers claim small batches, render each message from
the run's content snapshot, hand the batch to the channel, and write the results back
in one statement per batch, together with the run's totals.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from domain.ab_test import AB_TEST, ABTest, Variant
from domain.mailings import Channel, Mailing
from domain.recipients import AddressKind
from domain.runs import RunKind
from domain.tracking import run_links


@dataclass(frozen=True, slots=True)
class RunContent:
    """What a run sends, frozen at launch: editing the mailing or its template later never
    changes a run that started."""

    mailing_id: int
    mailing_name: str
    channel: Channel
    body: str
    subject: str | None = None
    media: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    links: tuple[str, ...] = ()  # trackable links, in order: a click names one by index
    paid: bool = False  # Telegram: sent fast as paid broadcasts (a test send never is)
    # A follow-up acts on the copies its send run delivered (domain.runs.RunKind).
    kind: RunKind = RunKind.send
    # A test send: the values of the sample recipient the preview showed, so the test
    # reads as the preview does (the tester's own address has no attributes).
    sample: dict[str, Any] | None = None
    # An A/B test's variants (A is ``subject``/``body``); a delivery's ``variant`` picks one.
    variants: tuple[Variant, ...] = ()

    @classmethod
    def of(
        cls, mailing: Mailing, *, test: bool = False, sample: dict[str, Any] | None = None
    ) -> RunContent:
        assert mailing.id is not None
        ab = None if test else ABTest.from_json(mailing.options.get(AB_TEST))
        variants = tuple(ab.variants(mailing.subject, mailing.body)) if ab else ()
        bodies = "\n".join(v.body for v in variants) if variants else mailing.body
        return cls(
            mailing_id=mailing.id,
            mailing_name=mailing.name,
            channel=mailing.channel,
            body=mailing.body,
            subject=mailing.subject,
            media=dict(mailing.media) if mailing.media else None,
            options=dict(mailing.options),
            links=run_links(bodies, mailing.options),
            paid=mailing.fast and not test,
            sample=dict(sample) if test and sample is not None else None,
            variants=variants,
        )

    def variant(self, index: int | None) -> Variant:
        """The subject and text a delivery of variant ``index`` gets (no test: A's)."""
        if index is not None and 0 <= index < len(self.variants):
            return self.variants[index]
        return Variant(self.subject, self.body)

    def to_json(self) -> dict[str, Any]:
        return {
            "mailing_id": self.mailing_id,
            "mailing_name": self.mailing_name,
            "channel": self.channel.value,
            "body": self.body,
            "subject": self.subject,
            "media": self.media,
            "options": self.options,
            "links": list(self.links),
            "paid": self.paid,
            "kind": self.kind.value,
            "sample": self.sample,
            "variants": [[v.subject, v.body] for v in self.variants],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunContent:
        return cls(
            mailing_id=int(data["mailing_id"]),
            mailing_name=str(data["mailing_name"]),
            channel=Channel(data["channel"]),
            body=str(data["body"]),
            subject=data.get("subject"),
            media=data.get("media"),
            options=dict(data.get("options") or {}),
            links=tuple(str(url) for url in data.get("links") or ()),
            paid=bool(data.get("paid", False)),
            kind=RunKind(data.get("kind") or RunKind.send.value),
            sample=dict(data["sample"]) if data.get("sample") is not None else None,
            variants=tuple(Variant(s, str(b)) for s, b in data.get("variants") or ()),
        )


@dataclass(frozen=True, slots=True)
class Outbound:
    """One claimed delivery: a recipient of a run, now in ``sending``."""

    delivery_id: int
    run_id: int
    address_id: int
    kind: AddressKind
    value: str  # email, chat id, or external id
    attributes: dict[str, Any]
    attempts: int  # attempts made before this one
    variant: int | None = None  # an A/B test's variant (0 = A)

    @property
    def claim(self) -> int:
        """The claim token: this claim's attempt number. Every claim of a row raises it, so
        a result under an older token is late (``DeliveryResults.complete``)."""
        return self.attempts + 1


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered message for one recipient."""

    outbound: Outbound
    subject: str | None
    body: str  # Telegram HTML; channels turn it into what they need
    # Tracking (domain.tracking_plan): URL buttons with their links rewritten, the open
    # pixel's URL (email); None: as the run's content says, no pixel.
    buttons: list[list[dict[str, Any]]] | None = None
    open_url: str | None = None
    # A follow-up's target: the ids of the message(s) its send run delivered to this chat
    # (several for an album, in order).
    target_ids: tuple[int, ...] = ()

    @property
    def target_id(self) -> int | None:
        """The (first) delivered message a follow-up acts on: an album's caption is its
        first item's."""
        return self.target_ids[0] if self.target_ids else None


class Outcome(enum.StrEnum):
    delivered = "delivered"  # accepted by the channel (SMTP relay, Bot API, API)
    refused = "refused"  # permanent, about the address: suppress it (403, 5xx on RCPT)
    failed = "failed"  # permanent, or uncertain (a timeout after the request was sent)
    retry = "retry"  # transient: try again later (4xx SMTP, 429, 5xx)
    # The channel cannot send at all (an untrusted certificate, AUTH refused, 5xx on MAIL
    # FROM): nothing went out; the row goes back to pending and the run is paused with
    # the reason (a test send fails with it at once). The error is the reason.
    halted = "halted"
    # The channel could not be reached (the SMTP relay refuses or drops connections):
    # nothing was tried; the row waits for the channel's next probe (``retry_after``)
    # without spending an attempt, within the outage budget (``domain.outage``).
    unreachable = "unreachable"


@dataclass(frozen=True, slots=True)
class SendResult:
    delivery_id: int
    outcome: Outcome
    error: str | None = None
    provider_id: str | None = None
    retry_after: float | None = None  # seconds the channel asked us to wait
    # The request reached the provider but its answer does not say whether it was carried
    # out (a 5xx): a retry may reach the recipient a second time. The row keeps the mark,
    # and if it is delivered later it counts as "possibly sent twice" (at least once).
    answer_lost: bool = False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, up to ``max_attempts`` in all."""

    max_attempts: int = 5
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """How long to wait after ``attempts`` failed attempts (1 = the first one)."""
        if retry_after is not None:
            return timedelta(seconds=retry_after)  # the channel knows best (429)
        ceiling = min(self.cap, self.base * (2 ** max(attempts - 1, 0)))
        return timedelta(seconds=random.uniform(0, ceiling.total_seconds()))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass
class BatchSizer:
    """How many deliveries a worker claims next: about what its channel sends in
    ``target`` seconds, never more than ``ceiling`` nor fewer than ``floor``.

    Each batch costs two database transactions, a few ms of CPU whatever its size: at 50
    recipients a batch that was a third of the engine's CPU per message against a fast API,
    at 1,000 a twentieth (bench/delivery.py). A slow channel (Telegram's 30 messages/s
    shared by every worker) gets small batches instead, so pause and cancel take effect,
    and a crash sends again, within about ``target`` seconds of sending. Batches start at
    ``floor`` and at most double from one to the next; a batch that came back short (the
    queue ran low) says nothing about the channel's speed and changes nothing. The floor
    keeps a batch wide enough for the channel's concurrent sends even when one message
    takes longer than ``target``.
    """

    ceiling: int
    target: float = 1.0
    floor: int = 20
    size: int = field(init=False)

    def __post_init__(self) -> None:
        if self.ceiling < 1 or self.target <= 0:
            raise ValueError("ceiling and target must be positive")
        self.floor = max(1, min(self.floor, self.ceiling))
        self.size = self.floor

    def observe(self, claimed: int, sent: int, seconds: float) -> None:
        """A batch of ``sent`` deliveries, claimed with a limit of ``claimed``, took
        ``seconds`` to send."""
        if sent < claimed or sent == 0:
            return
        ideal = self.ceiling if seconds <= 0 else int(sent / seconds * self.target)
        self.size = max(self.floor, min(ideal, 2 * self.size, self.ceiling))
