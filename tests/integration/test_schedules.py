"""Schedules firing, with a controllable clock, on the real PostgreSQL: one-off and
recurring slots, exactly once per slot across two schedulers, downtime grace, the
"previous run still sending" policy, a daily 10:00 across daylight-saving changes, and a
slot stopped by the launch's checks (skipped with its reason, the owner told)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import MailingRun, RunStatus, SkippedSlot
from domain.usecases import launch, schedules
from domain.usecases.launch import Launcher
from domain.users import Role, User
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.rendering import JinjaRenderer
from infrastructure.scheduling import CronScheduleCalculator

GRACE = timedelta(hours=1)
CALC = CronScheduleCalculator()


ALL_CHANNELS = frozenset(Channel)


def launcher_on(engine: AsyncEngine, available: frozenset[Channel] = ALL_CHANNELS) -> Launcher:
    return Launcher(SqlDeliveryQueue(engine), JinjaRenderer(), available)


@pytest.fixture
async def db(migrated_pg_url: str) -> AsyncIterator[tuple[UnitOfWorkFactory, Launcher]]:
    engine = create_engine(migrated_pg_url)
    yield make_uow_factory(create_session_factory(engine)), launcher_on(engine)
    await engine.dispose()


NAMES = itertools.count(1)  # lists and mailings have unique names


async def scheduled_mailing(uow_factory: UnitOfWorkFactory, schedule: Schedule) -> int:
    n = next(NAMES)
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"L {n}", 1))
        address = await uow.addresses.upsert(Address(AddressKind.telegram, "501"))
        assert rlist.id is not None and address.id is not None
        await uow.members.add_members(rlist.id, [address.id])
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=1,
                name=f"Timed {n}",
                channel=Channel.telegram,
                body="Hi",
                list_ids=[rlist.id],
                schedule=schedule,
                status=MailingStatus.scheduled,
            )
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


async def runs_of(uow_factory: UnitOfWorkFactory, mailing_id: int) -> list[MailingRun]:
    async with uow_factory() as uow:
        return list(reversed(await uow.runs.for_mailing(mailing_id, 100)))


async def finish(uow_factory: UnitOfWorkFactory, run: MailingRun) -> None:
    """What the workers do at the end of a run."""
    async with uow_factory() as uow:
        stored = await uow.runs.get(run.id or 0)
        assert stored is not None
        stored.status = RunStatus.completed
        await uow.runs.update(stored)
        await uow.commit()
    await launch.finish_runs(uow_factory, [run.id or 0])


async def test_a_one_off_fires_at_its_time_and_once(
    db: tuple[UnitOfWorkFactory, Launcher],
) -> None:
    uow_factory, queue = db
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    mailing_id = await scheduled_mailing(uow_factory, Schedule(ScheduleKind.once, run_at=at))
    early = await schedules.tick(
        uow_factory, queue, CALC, now=at - timedelta(minutes=1), grace=GRACE
    )
    assert early == []
    fired = await schedules.tick(
        uow_factory, queue, CALC, now=at + timedelta(seconds=5), grace=GRACE
    )
    assert [(f.slot, f.run_id is not None) for f in fired] == [(at, True)]
    again = await schedules.tick(
        uow_factory, queue, CALC, now=at + timedelta(seconds=20), grace=GRACE
    )
    assert again == []
    (run,) = await runs_of(uow_factory, mailing_id)
    assert run.status is RunStatus.running and run.totals.pending == 1
    await finish(uow_factory, run)
    async with uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
    assert mailing is not None and mailing.status is MailingStatus.completed


async def test_two_schedulers_on_one_database_fire_a_slot_once(
    db: tuple[UnitOfWorkFactory, Launcher], migrated_pg_url: str
) -> None:
    uow_factory, queue = db
    other_engine = create_engine(migrated_pg_url)
    other = make_uow_factory(create_session_factory(other_engine))
    try:
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        mailing_id = await scheduled_mailing(uow_factory, Schedule(ScheduleKind.once, run_at=at))
        now = at + timedelta(seconds=3)
        first, second = await asyncio.gather(
            schedules.tick(uow_factory, queue, CALC, now=now, grace=GRACE),
            schedules.tick(other, launcher_on(other_engine), CALC, now=now, grace=GRACE),
        )
        launched = [f for f in first + second if f.run_id is not None]
        assert len(launched) == 1
        runs = await runs_of(uow_factory, mailing_id)
        assert len(runs) == 1 and runs[0].totals.total == 1
    finally:
        await other_engine.dispose()


async def test_missed_slots_run_within_grace_and_are_skipped_beyond(
    db: tuple[UnitOfWorkFactory, Launcher],
) -> None:
    uow_factory, queue = db
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    soon = await scheduled_mailing(uow_factory, Schedule(ScheduleKind.once, run_at=at))
    fired = await schedules.tick(
        uow_factory, queue, CALC, now=at + timedelta(minutes=40), grace=GRACE
    )
    assert [f.run_id is not None for f in fired] == [True]  # down 40 min: still sent
    late = await scheduled_mailing(uow_factory, Schedule(ScheduleKind.once, run_at=at))
    fired = await schedules.tick(
        uow_factory, queue, CALC, now=at + timedelta(hours=3), grace=GRACE
    )
    assert [(f.mailing_id, f.note) for f in fired] == [(late, "missed")]
    (skipped,) = await runs_of(uow_factory, late)
    assert skipped.status is RunStatus.skipped and skipped.totals.total == 0
    await schedules.tick(uow_factory, queue, CALC, now=at + timedelta(hours=4), grace=GRACE)
    async with uow_factory() as uow:
        gone = await uow.mailings.get(late)
        sent = await uow.mailings.get(soon)
    assert gone is not None and gone.status is MailingStatus.cancelled  # never went out
    assert sent is not None and sent.status is MailingStatus.running


def berlin_daily() -> Schedule:
    return Schedule(ScheduleKind.cron, cron="0 10 * * *", timezone="Europe/Berlin")


async def test_a_daily_10_00_in_berlin_keeps_local_time_across_dst(
    db: tuple[UnitOfWorkFactory, Launcher],
) -> None:
    uow_factory, queue = db
    mailing_id = await scheduled_mailing(uow_factory, berlin_daily())
    # Spring forward on 2027-03-28 (CET→CEST) and fall back on 2027-10-31 (CEST→CET).
    days = [datetime(2027, 3, d, tzinfo=UTC) for d in (27, 28, 29)]
    days += [datetime(2027, 10, d, tzinfo=UTC) for d in (30, 31)]
    seen: list[datetime] = []
    for day in days:
        for hour, minute in ((7, 0), (8, 0), (8, 30), (9, 0), (9, 30), (10, 0), (11, 0)):
            now = day.replace(hour=hour, minute=minute, second=30)
            for fired in await schedules.tick(uow_factory, queue, CALC, now=now, grace=GRACE):
                if fired.run_id is not None:
                    seen.append(fired.slot)
                    run = next(
                        r for r in await runs_of(uow_factory, mailing_id) if r.id == fired.run_id
                    )
                    await finish(uow_factory, run)
    # 10:00 local: 09:00Z in winter time, 08:00Z in summer time; once a day, never twice.
    assert [s.isoformat() for s in seen if s.month == 3] == [
        "2027-03-27T09:00:00+00:00",
        "2027-03-28T08:00:00+00:00",
        "2027-03-29T08:00:00+00:00",
    ]
    autumn = [s.isoformat() for s in seen if s.month == 10]
    assert autumn[-2:] == ["2027-10-30T08:00:00+00:00", "2027-10-31T09:00:00+00:00"]


async def test_a_slot_is_skipped_while_the_previous_run_still_sends(
    db: tuple[UnitOfWorkFactory, Launcher],
) -> None:
    uow_factory, queue = db
    mailing_id = await scheduled_mailing(uow_factory, berlin_daily())
    first_day = datetime(2027, 5, 3, 8, 0, 30, tzinfo=UTC)  # 10:00:30 CEST
    fired = await schedules.tick(uow_factory, queue, CALC, now=first_day, grace=GRACE)
    # months of slots since it was scheduled were missed (recorded); today's one runs
    assert fired[-1].run_id is not None and {f.note for f in fired[:-1]} == {"missed"}
    async with uow_factory() as uow:  # a recurring mailing waits for its next slot
        mailing = await uow.mailings.get(mailing_id)
        assert mailing is not None
        mailing.status = MailingStatus.scheduled
        await uow.mailings.update(mailing)
        await uow.commit()
    next_day = first_day + timedelta(days=1)
    fired = await schedules.tick(uow_factory, queue, CALC, now=next_day, grace=GRACE)
    assert [f.note for f in fired] == ["previous run still sending"]


class Told:
    """A ``ScheduleNotifier`` that keeps what the owners were told."""

    def __init__(self) -> None:
        self.skips: list[tuple[SkippedSlot, User | None]] = []
        self.launches: list[tuple[int | None, int]] = []

    async def slot_skipped(self, skipped: SkippedSlot, owner: User | None) -> None:
        self.skips.append((skipped, owner))

    async def slot_launched(self, mailing: Mailing, run_id: int, owner: User | None) -> None:
        self.launches.append((mailing.id, run_id))


async def owner_speaking(uow_factory: UnitOfWorkFactory, language: str) -> None:
    async with uow_factory() as uow:
        await uow.users.add(User(telegram_id=1, role=Role.manager, language=language))
        await uow.commit()


async def change(uow_factory: UnitOfWorkFactory, mailing_id: int, **fields: object) -> None:
    async with uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
        assert mailing is not None
        for name, value in fields.items():
            setattr(mailing, name, value)
        await uow.mailings.update(mailing)
        await uow.commit()


async def test_a_slot_that_cannot_launch_is_skipped_with_its_reason_and_the_owner_told(
    db: tuple[UnitOfWorkFactory, Launcher],
) -> None:
    uow_factory, launcher = db
    await owner_speaking(uow_factory, "en")
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)
    mailing_id = await scheduled_mailing(uow_factory, Schedule(ScheduleKind.once, run_at=at))
    async with uow_factory() as uow:  # the list lost its only member since
        rlist = (await uow.lists.all())[-1]
        assert rlist.id is not None
        await uow.members.remove_member(
            rlist.id, (await uow.members.members(rlist.id, 0, 1)).items[0].id or 0
        )
        await uow.commit()
    told = Told()

    fired = await schedules.tick(
        uow_factory, launcher, CALC, now=at + timedelta(seconds=5), grace=GRACE, notifier=told
    )
    assert [(f.run_id, f.note) for f in fired] == [(None, "preview-empty-audience")]
    (run,) = await runs_of(uow_factory, mailing_id)
    assert (run.status, run.note, run.totals.total) == (
        RunStatus.skipped,
        "preview-empty-audience",
        0,
    )
    [(skipped, owner)] = told.skips
    assert (skipped.reason, skipped.slot, skipped.back_to_draft) == (
        "preview-empty-audience",
        at,
        True,
    )
    assert owner is not None and owner.language == "en"
    async with uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
    assert mailing is not None and mailing.status is MailingStatus.draft  # to mend, not lost
    # The next ticks do not fire it again, nor tell the owner twice.
    await schedules.tick(
        uow_factory, launcher, CALC, now=at + timedelta(minutes=1), grace=GRACE, notifier=told
    )
    assert len(told.skips) == 1 and len(await runs_of(uow_factory, mailing_id)) == 1


async def test_a_recurring_slot_is_stopped_by_the_same_checks_as_the_launch_button(
    db: tuple[UnitOfWorkFactory, Launcher], migrated_pg_url: str
) -> None:
    uow_factory, launcher = db
    mailing_id = await scheduled_mailing(uow_factory, berlin_daily())
    await change(uow_factory, mailing_id, body="x" * 4097)
    told = Told()
    day = datetime(2027, 6, 1, 8, 0, 30, tzinfo=UTC)
    fired = await schedules.tick(uow_factory, launcher, CALC, now=day, grace=GRACE, notifier=told)
    assert (fired[-1].note, fired[-1].params) == (
        "preview-too-long",
        {"length": 4097, "limit": 4096},
    )
    assert [s.reason for s, _ in told.skips] == ["preview-too-long"]  # once per tick
    assert told.skips[0][1] is None  # the owner is no user of the bot: default language
    async with uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
    assert mailing is not None and mailing.status is MailingStatus.scheduled  # next slot

    # The channel of an email mailing that is not configured: the Launch button's check.
    await change(uow_factory, mailing_id, body="Hi", channel=Channel.email, subject="S")
    engine = create_engine(migrated_pg_url)
    try:
        telegram_only = launcher_on(engine, frozenset({Channel.telegram}))
        fired = await schedules.tick(
            uow_factory, telegram_only, CALC, now=day + timedelta(days=1), grace=GRACE
        )
    finally:
        await engine.dispose()
    assert [f.note for f in fired] == ["preview-channel-unavailable"]


async def test_a_busy_or_missed_slot_is_told_to_the_owner_once_per_tick(
    db: tuple[UnitOfWorkFactory, Launcher],
) -> None:
    uow_factory, launcher = db
    mailing_id = await scheduled_mailing(uow_factory, berlin_daily())
    told = Told()
    first_day = datetime(2027, 5, 3, 8, 0, 30, tzinfo=UTC)
    fired = await schedules.tick(
        uow_factory, launcher, CALC, now=first_day, grace=GRACE, notifier=told
    )
    assert fired[-1].run_id is not None and len(fired) > 2  # missed ones, then today's
    assert [(s.reason, s.slot) for s, _ in told.skips] == [
        ("schedule-skip-missed", fired[-2].slot)
    ]
    await change(uow_factory, mailing_id, status=MailingStatus.scheduled)
    await schedules.tick(
        uow_factory, launcher, CALC, now=first_day + timedelta(days=1), grace=GRACE, notifier=told
    )
    assert told.skips[-1][0].reason == "schedule-skip-busy"
