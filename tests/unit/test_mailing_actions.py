"""Which actions each mailing status allows (the buttons of a mailing's card)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.mailings import (
    Channel,
    Mailing,
    MailingAction,
    MailingStatus,
    Schedule,
    ScheduleKind,
    allowed_actions,
)

A, S = MailingAction, MailingStatus
ONCE = Schedule(kind=ScheduleKind.once, run_at=datetime(2030, 1, 1, tzinfo=UTC))


def mailing(status: MailingStatus, schedule: Schedule = ONCE) -> Mailing:
    return Mailing(owner_id=1, name="n", channel=Channel.email, status=status, schedule=schedule)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (S.draft, [A.edit, A.preview, A.test, A.launch, A.schedule, A.duplicate, A.delete]),
        (
            S.scheduled,
            [A.edit, A.preview, A.test, A.launch, A.unschedule, A.cancel, A.duplicate, A.delete],
        ),
        (S.running, [A.pause, A.cancel, A.duplicate, A.delete]),
        (S.paused, [A.resume, A.cancel, A.duplicate, A.delete]),
        (S.completed, [A.duplicate, A.delete]),
        (S.cancelled, [A.duplicate, A.delete]),
        (S.failed, [A.duplicate, A.delete]),
    ],
)
def test_each_status_allows_its_actions_in_card_order(
    status: MailingStatus, expected: list[MailingAction]
) -> None:
    assert list(allowed_actions(mailing(status))) == expected


def test_a_draft_without_a_schedule_cannot_be_scheduled() -> None:
    actions = allowed_actions(mailing(S.draft, Schedule()))
    assert A.schedule not in actions
    assert A.launch in actions


@pytest.mark.parametrize("status", list(S))
def test_an_archived_mailing_can_only_be_duplicated(status: MailingStatus) -> None:
    m = mailing(status)
    m.archived_at = datetime(2030, 1, 1, tzinfo=UTC)
    assert allowed_actions(m) == (A.duplicate,)


@pytest.mark.parametrize("status", list(S))
def test_edit_is_offered_exactly_when_the_mailing_is_editable(status: MailingStatus) -> None:
    m = mailing(status)
    assert (A.edit in allowed_actions(m)) is m.is_editable
