"""The Mailing aggregate and its status machine.

::

    draft ──► scheduled ──► running ⇄ paused
      │           │            │         │
      │           ▼            ▼         ▼
      └────────► running   completed / cancelled / failed

A recurring mailing goes back from ``running`` to ``scheduled`` when a run ends, and from
``scheduled`` to ``completed`` when its schedule runs out.
A scheduled mailing may go back to ``draft`` (unscheduled) to be edited freely.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.errors import IllegalTransition
from domain.targeting import Targeting
from domain.users import User


class Channel(enum.StrEnum):
    email = "email"
    telegram = "telegram"
    sendsay = "sendsay"
    webhook = "webhook"


class MailingStatus(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    running = "running"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"
    failed = "failed"


S = MailingStatus
TRANSITIONS: dict[MailingStatus, frozenset[MailingStatus]] = {
    S.draft: frozenset({S.scheduled, S.running, S.cancelled}),
    S.scheduled: frozenset({S.draft, S.running, S.cancelled, S.completed}),
    S.running: frozenset({S.paused, S.completed, S.cancelled, S.failed, S.scheduled}),
    S.paused: frozenset({S.running, S.cancelled}),
    S.completed: frozenset(),
    S.cancelled: frozenset(),
    S.failed: frozenset(),
}
EDITABLE = frozenset({S.draft, S.scheduled})
FINISHED = frozenset({S.completed, S.cancelled, S.failed})


class ScheduleKind(enum.StrEnum):
    none = "none"
    once = "once"
    cron = "cron"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a mailing fires. Times are stored in UTC; ``timezone`` is the user's zone."""

    kind: ScheduleKind = ScheduleKind.none
    run_at: datetime | None = None
    cron: str | None = None
    timezone: str = "Europe/Moscow"
    ends_at: datetime | None = None
    max_runs: int | None = None

    @property
    def is_recurring(self) -> bool:
        return self.kind is ScheduleKind.cron


@dataclass(frozen=True, slots=True)
class Ownership:
    """All that decides who may see a mailing: its owner and whether it is archived."""

    owner_id: int
    archived: bool


def visible_to(ownership: Ownership, actor: User) -> bool:
    """Admins see every mailing, archived ones too; a manager sees their own unarchived
    ones (someone else's looks like a missing one). ``actor`` holds a role already."""
    return actor.is_admin or (ownership.owner_id == actor.telegram_id and not ownership.archived)


@dataclass(slots=True)
class Mailing:
    owner_id: int
    name: str
    channel: Channel
    body: str = ""
    subject: str | None = None
    template_id: int | None = None
    media: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # Telegram: sent fast as paid broadcasts (up to TELEGRAM_RATE, 0.1 Star a message)
    # rather than at the free 30 messages/s.
    fast: bool = False
    list_ids: list[int] = field(default_factory=list)
    # Who of the lists it goes to: a segment minus exclusions (everyone by default).
    targeting: Targeting = field(default_factory=Targeting)
    schedule: Schedule = field(default_factory=Schedule)
    status: MailingStatus = MailingStatus.draft
    archived_at: datetime | None = None
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    # -- status machine -------------------------------------------------------------
    def can_become(self, target: MailingStatus) -> bool:
        return target in TRANSITIONS[self.status]

    def _move(self, target: MailingStatus) -> None:
        if not self.can_become(target):
            raise IllegalTransition(current=self.status.value, target=target.value)
        self.status = target

    def schedule_for(self, schedule: Schedule) -> None:
        if schedule.kind is ScheduleKind.none:
            raise IllegalTransition(current=self.status.value, target=S.scheduled.value)
        self._move(S.scheduled)
        self.schedule = schedule

    def unschedule(self) -> None:
        self._move(S.draft)

    def start(self) -> None:
        self._move(S.running)

    def pause(self) -> None:
        self._move(S.paused)

    def resume(self) -> None:
        self._move(S.running)

    def end_schedule(self) -> None:
        """A recurring schedule ran out (``ends_at`` passed or ``max_runs`` reached)."""
        self._move(S.completed)

    def finish_run(self) -> None:
        """A run ended normally: recurring mailings wait for their next slot."""
        self._move(S.scheduled if self.schedule.is_recurring else S.completed)

    def cancel(self) -> None:
        self._move(S.cancelled)

    def fail(self) -> None:
        self._move(S.failed)

    # -- rules ----------------------------------------------------------------------
    @property
    def is_editable(self) -> bool:
        return self.archived_at is None and self.status in EDITABLE

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def ownership(self) -> Ownership:
        return Ownership(self.owner_id, self.archived_at is not None)


class MailingAction(enum.StrEnum):
    """What a manager can ask of a mailing (the buttons of its card)."""

    edit = "edit"
    preview = "preview"
    test = "test"
    launch = "launch"
    schedule = "schedule"
    unschedule = "unschedule"
    pause = "pause"
    resume = "resume"
    cancel = "cancel"
    duplicate = "duplicate"
    delete = "delete"


A = MailingAction
LAUNCHABLE = frozenset({S.draft, S.scheduled})
CANCELLABLE = frozenset({S.scheduled, S.running, S.paused})


def allowed_actions(mailing: Mailing) -> tuple[MailingAction, ...]:
    """The actions a mailing's status allows, in the order its card shows them.

    An archived mailing can only be duplicated; the use cases re-check each action.
    """
    if mailing.archived_at is not None:
        return (A.duplicate,)
    status, found = mailing.status, []
    if mailing.is_editable:
        found += [A.edit, A.preview]
    if status in LAUNCHABLE:
        found += [A.test, A.launch]
    if status is S.draft and mailing.schedule.kind is not ScheduleKind.none:
        found.append(A.schedule)
    if status is S.scheduled:
        found.append(A.unschedule)
    if status is S.running:
        found.append(A.pause)
    if status is S.paused:
        found.append(A.resume)
    if status in CANCELLABLE:
        found.append(A.cancel)
    return (*found, A.duplicate, A.delete)


# Which kinds of address each channel can reach. A webhook posts to a third-party API
# that may know any of them.
CHANNEL_KINDS: dict[Channel, tuple[str, ...]] = {
    Channel.email: ("email",),
    Channel.sendsay: ("email",),
    Channel.telegram: ("telegram",),
    Channel.webhook: ("webhook", "email", "telegram"),
}
