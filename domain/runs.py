"""Runs (one launch of a mailing) and per-recipient deliveries."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.mailings import Mailing


class RunStatus(enum.StrEnum):
    running = "running"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"
    failed = "failed"
    skipped = "skipped"


class RunKind(enum.StrEnum):
    """What a run does to its recipients' chats. A *send* run delivers the mailing; the
    follow-ups act on the copies a send run delivered (Telegram): ``recall`` deletes them,
    ``edit`` replaces their text or caption. Follow-ups go through the same engine (rate
    limits, leases, progress) and never move their mailing's status."""

    send = "send"
    recall = "recall"
    edit = "edit"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    delivered = "delivered"
    failed = "failed"
    refused = "refused"


FINAL_DELIVERY_STATUSES = frozenset(
    {DeliveryStatus.delivered, DeliveryStatus.failed, DeliveryStatus.refused}
)
# A run in one of these statuses sends nothing more: its recipients still pending (a
# cancelled run's rest) are "not sent", in statistics, charts, exports and the card.
ENDED_RUN_STATUSES = frozenset(
    {RunStatus.completed, RunStatus.cancelled, RunStatus.failed, RunStatus.skipped}
)
NOT_SENT = "not sent"  # the export's status of a recipient an ended run never reached


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Counts per delivery status, kept on the run so nobody counts delivery rows.

    ``pending`` counts every recipient without a final result, including those a worker
    is sending right now: claiming a batch does not touch the run row (it made the workers
    queue for its lock). ``sending`` is always 0 since migration 0006; it stays for the
    schema and for callers that add it to ``pending``."""

    pending: int = 0
    sending: int = 0
    delivered: int = 0
    failed: int = 0
    refused: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.delivered + self.failed + self.refused

    @property
    def done(self) -> int:
        return self.delivered + self.failed + self.refused


@dataclass(frozen=True, slots=True)
class ProgressMessage:
    """The message a run's progress is shown in, edited until its summary."""

    chat_id: int
    message_id: int
    locale: str


@dataclass(slots=True)
class MailingRun:
    mailing_id: int
    scheduled_for: datetime
    content: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = RunStatus.running
    totals: RunTotals = field(default_factory=RunTotals)
    launched_by: int | None = None
    is_test: bool = False
    note: str | None = None
    id: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Why the engine stopped it (set by the engine): a mass send that did not go out, or a
    # channel that cannot send at all (run paused until someone resumes it).
    problem: str | None = None
    progress: ProgressMessage | None = None  # read-only: RunRepository.show_progress writes it
    kind: RunKind = RunKind.send
    source_run_id: int | None = None  # a follow-up's send run
    autodelete_at: datetime | None = None  # its copies are recalled then (auto-delete)
    # An A/B test: when its winner is picked (None once picked), and the verdict
    # (``domain.ab_test.Decision`` as JSON); both written by ``ABTestStore``.
    ab_due_at: datetime | None = None
    ab_result: dict[str, Any] | None = None

    @property
    def is_follow_up(self) -> bool:
        return self.kind is not RunKind.send

    @property
    def ended(self) -> bool:
        """Nothing more will be sent: what is still pending never will be."""
        return self.status in ENDED_RUN_STATUSES


@dataclass(slots=True)
class Delivery:
    run_id: int
    address_id: int
    status: DeliveryStatus = DeliveryStatus.pending
    attempts: int = 0
    last_error: str | None = None
    provider_message_id: str | None = None
    next_attempt_at: datetime | None = None
    claimed_at: datetime | None = None
    id: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FollowUpStart:
    """A follow-up run as it started: ``pending`` copies to act on; ``kept`` copies its
    window had closed on already (Telegram deletes for 48 hours only), recorded failed."""

    run_id: int
    pending: int
    kept: int


@dataclass(frozen=True, slots=True)
class SkippedSlot:
    """A scheduled launch that did not happen, as its owner is told of it."""

    mailing: Mailing
    slot: datetime
    reason: str  # a message key: a failed check's (preview-…) or schedule-skip-…
    params: dict[str, Any] = field(default_factory=dict)  # the key's figures
    back_to_draft: bool = False  # a one-off stopped by a check: mend it, schedule again
