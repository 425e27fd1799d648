"""Setting a schedule in the dialog (``schedules.set_schedule``) on the in-memory unit of
work: a time or a recurrence schedules the mailing at once when the preview's blocking
checks pass, keeps it a draft (schedule kept) with the reason when one fails, and "by
hand" takes it off its schedule; the card's button runs the same checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidInput, NotFound
from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import schedules
from domain.users import Role, User
from infrastructure.rendering import JinjaRenderer
from infrastructure.scheduling.calculator import CronScheduleCalculator
from tests.fakes.memory_uow import MemoryDatabase

OWNER, COLLEAGUE = 1, 2
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CALC = CronScheduleCalculator()
CHECKS = schedules.Checks(JinjaRenderer(), frozenset(Channel))
TOMORROW = Schedule(ScheduleKind.once, run_at=NOW + timedelta(days=1), timezone="UTC")
DAILY = Schedule(ScheduleKind.cron, cron="30 9 * * *", timezone="UTC", max_runs=3)


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(
        users=[User(OWNER, role=Role.manager), User(COLLEAGUE, role=Role.manager)]
    )


async def a_mailing(db: MemoryDatabase, *, with_list: bool = True, body: str = "Hi") -> int:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"L{len(db.lists)}", OWNER))
        reader = await uow.addresses.upsert(Address(AddressKind.telegram, "5005"))
        await uow.members.add_members(rlist.id or 0, [reader.id or 0])
        lists = [rlist.id or 0] if with_list else []
        made = await uow.mailings.add(
            Mailing(OWNER, f"M{len(db.mailings)}", Channel.telegram, body=body, list_ids=lists)
        )
        await uow.commit()
    return made.id or 0


async def set_to(
    db: MemoryDatabase, mailing_id: int, schedule: Schedule, actor: int = OWNER
) -> schedules.Scheduling:
    return await schedules.set_schedule(
        db.uow_factory,
        CALC,
        CHECKS,
        actor_id=actor,
        mailing_id=mailing_id,
        schedule=schedule,
        now=NOW,
    )


async def test_a_time_schedules_the_mailing_at_once(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    done = await set_to(db, mailing_id, TOMORROW)
    assert done.scheduled and done.stopped_by is None
    assert done.next_launch == NOW + timedelta(days=1)
    stored = db.mailings[mailing_id]
    assert stored.status is MailingStatus.scheduled and stored.schedule == TOMORROW
    assert [e.action for e in db.audit] == ["mailing.schedule"]


async def test_a_recurrence_schedules_it_and_says_its_first_launch(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    done = await set_to(db, mailing_id, DAILY)
    assert done.scheduled and done.next_launch == datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    assert db.mailings[mailing_id].schedule.max_runs == 3


async def test_a_failed_check_keeps_a_draft_with_its_schedule_and_says_why(
    db: MemoryDatabase,
) -> None:
    mailing_id = await a_mailing(db, with_list=False)
    done = await set_to(db, mailing_id, TOMORROW)
    assert not done.scheduled and done.next_launch is None
    assert done.stopped_by is not None and done.stopped_by.key == "preview-no-lists"
    stored = db.mailings[mailing_id]
    assert stored.status is MailingStatus.draft and stored.schedule == TOMORROW
    assert db.audit == []


async def test_a_scheduled_mailing_gets_a_new_time_or_goes_back_to_draft(
    db: MemoryDatabase,
) -> None:
    mailing_id = await a_mailing(db)
    await set_to(db, mailing_id, TOMORROW)
    moved = await set_to(db, mailing_id, DAILY)  # still scheduled, at the new times
    assert moved.scheduled and db.mailings[mailing_id].schedule == DAILY
    by_hand = await set_to(db, mailing_id, Schedule(timezone="UTC"))
    assert not by_hand.scheduled and by_hand.stopped_by is None
    assert db.mailings[mailing_id].status is MailingStatus.draft
    assert [e.action for e in db.audit] == ["mailing.schedule", "mailing.unschedule"]


async def test_a_scheduled_mailing_broken_by_its_new_schedule_is_taken_off(
    db: MemoryDatabase,
) -> None:
    """A check that fails now (the text became too long) leaves nothing on a timer."""
    mailing_id = await a_mailing(db)
    await set_to(db, mailing_id, TOMORROW)
    db.mailings[mailing_id].body = "x" * 5000
    done = await set_to(db, mailing_id, DAILY)
    assert done.stopped_by is not None and done.stopped_by.key == "preview-too-long"
    assert db.mailings[mailing_id].status is MailingStatus.draft


async def test_an_invalid_schedule_or_someone_elses_mailing_changes_nothing(
    db: MemoryDatabase,
) -> None:
    mailing_id = await a_mailing(db)
    past = Schedule(ScheduleKind.once, run_at=NOW - timedelta(hours=1), timezone="UTC")
    with pytest.raises(InvalidInput) as refused:
        await set_to(db, mailing_id, past)
    assert refused.value.key == "schedule-in-past"
    with pytest.raises(NotFound):
        await set_to(db, mailing_id, TOMORROW, actor=COLLEAGUE)
    stored = db.mailings[mailing_id]
    assert stored.status is MailingStatus.draft and stored.schedule.kind is ScheduleKind.none


async def test_the_cards_schedule_button_runs_the_same_checks(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db, with_list=False)
    db.mailings[mailing_id].schedule = TOMORROW
    with pytest.raises(InvalidInput) as refused:
        await schedules.schedule(
            db.uow_factory, CALC, CHECKS, actor_id=OWNER, mailing_id=mailing_id, now=NOW
        )
    assert refused.value.key == "schedule-blocked"
    assert refused.value.params["reason"] == "preview-no-lists"
    assert db.mailings[mailing_id].status is MailingStatus.draft
