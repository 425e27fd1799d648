"""Every (from, to) pair of the mailing status machine: legal moves work, others raise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import product

import pytest

from domain.errors import IllegalTransition
from domain.mailings import (
    TRANSITIONS,
    Channel,
    Mailing,
    MailingStatus,
    Ownership,
    Schedule,
    ScheduleKind,
    visible_to,
)
from domain.users import Role, User

S = MailingStatus
ONCE = Schedule(kind=ScheduleKind.once, run_at=datetime(2030, 1, 1, tzinfo=UTC))
CRON = Schedule(kind=ScheduleKind.cron, cron="0 10 * * *")

EXPECTED = {
    (S.draft, S.scheduled),
    (S.draft, S.running),
    (S.draft, S.cancelled),
    (S.scheduled, S.draft),
    (S.scheduled, S.running),
    (S.scheduled, S.cancelled),
    (S.scheduled, S.completed),
    (S.running, S.paused),
    (S.running, S.completed),
    (S.running, S.cancelled),
    (S.running, S.failed),
    (S.running, S.scheduled),
    (S.paused, S.running),
    (S.paused, S.cancelled),
}


def mailing(status: MailingStatus, schedule: Schedule = ONCE) -> Mailing:
    return Mailing(
        owner_id=1, name="n", channel=Channel.telegram, status=status, schedule=schedule
    )


def mover(target: MailingStatus) -> Callable[[Mailing], None]:
    """The aggregate method that asks for ``target``."""
    return {
        S.draft: Mailing.unschedule,
        S.scheduled: lambda m: m.schedule_for(ONCE),
        S.running: lambda m: m.resume() if m.status is S.paused else m.start(),
        S.paused: Mailing.pause,
        S.completed: Mailing.finish_run,
        S.cancelled: Mailing.cancel,
        S.failed: Mailing.fail,
    }[target]


def test_transition_table_is_the_documented_machine() -> None:
    legal = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert legal == EXPECTED


@pytest.mark.parametrize(("source", "target"), sorted(EXPECTED))
def test_legal_transition_changes_status(source: MailingStatus, target: MailingStatus) -> None:
    # finish_run of a recurring mailing goes back to scheduled; of a one-off, to completed
    schedule = CRON if (source, target) == (S.running, S.scheduled) else ONCE
    m = mailing(source, schedule)
    move = Mailing.finish_run if target is S.scheduled and source is S.running else mover(target)
    if (source, target) == (S.scheduled, S.completed):
        move = Mailing.end_schedule
    move(m)
    assert m.status is target


ILLEGAL = sorted(set(product(S, S)) - EXPECTED)


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_illegal_transition_raises_and_keeps_status(
    source: MailingStatus, target: MailingStatus
) -> None:
    m = mailing(source, CRON if target is S.scheduled else ONCE)
    with pytest.raises(IllegalTransition) as info:
        mover(target)(m)
    assert m.status is source
    assert info.value.params == {"current": source.value, "target": target.value}


def test_finish_run_of_one_off_completes_and_of_recurring_reschedules() -> None:
    one_off, recurring = mailing(S.running, ONCE), mailing(S.running, CRON)
    one_off.finish_run()
    recurring.finish_run()
    assert (one_off.status, recurring.status) == (S.completed, S.scheduled)


def test_scheduling_without_a_schedule_is_refused() -> None:
    m = mailing(S.draft)
    with pytest.raises(IllegalTransition):
        m.schedule_for(Schedule())
    assert m.status is S.draft


@pytest.mark.parametrize("status", list(S))
def test_only_draft_and_scheduled_are_editable(status: MailingStatus) -> None:
    assert mailing(status).is_editable == (status in {S.draft, S.scheduled})


def test_archived_mailing_is_not_editable() -> None:
    m = mailing(S.draft)
    m.archived_at = datetime(2026, 1, 1, tzinfo=UTC)
    assert not m.is_editable


@pytest.mark.parametrize(
    ("role", "actor", "archived", "visible"),
    [
        (Role.manager, 7, False, True),  # their own
        (Role.manager, 7, True, False),  # their own, archived: only admins see those
        (Role.manager, 8, False, False),  # someone else's
        (Role.admin, 8, False, True),
        (Role.admin, 8, True, True),
    ],
)
def test_who_sees_a_mailing(role: Role, actor: int, archived: bool, visible: bool) -> None:
    mailing = Mailing(owner_id=7, name="n", channel=Channel.email)
    mailing.archived_at = datetime(2030, 1, 1, tzinfo=UTC) if archived else None
    assert mailing.ownership == Ownership(7, archived)
    assert visible_to(mailing.ownership, User(actor, role=role)) is visible
