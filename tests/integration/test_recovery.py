"""A launch cut in two by a crash (its run created, its recipients not yet in, or in but
not started) is started or closed at start-up, on both backends; a run its owner paused
is left alone. And runs remember their progress message until the summary is shown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ab_test import AB_TEST, ABTest, Metric, Part, Split, Variant, placement
from domain.local_time import LOCAL_TIME, LocalTime, Release
from domain.mailings import Channel, Mailing, MailingStatus
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import MailingRun, ProgressMessage, RunStatus
from domain.targeting import Targeting
from domain.usecases import launch, progress, roles
from domain.usecases.launch import Launcher
from domain.usecases.recovery import UNSTARTED, finish_interrupted_launches
from domain.users import Role
from infrastructure.db.models import DeliveryRow
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.rendering import JinjaRenderer

MANAGER = 31
CHATS = ["9001", "9002", "9003"]


class _Quiet:
    async def access_changed(self, user: object) -> None:
        return None


class Crash(Exception):
    """The process died here."""


class CrashingQueue(SqlDeliveryQueue):
    """Dies before (or right after) the recipients go in."""

    def __init__(self, engine: AsyncEngine, after: bool) -> None:
        super().__init__(engine)
        self.after = after

    async def snapshot(
        self,
        run_id: int,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        targeting: Targeting | None = None,
        today: date | None = None,
        release: Release | None = None,
        split: Split | None = None,
    ) -> int:
        if self.after:
            await super().snapshot(run_id, list_ids, kinds, targeting, today, release, split)
        raise Crash

    async def snapshot_one(self, run_id: int, address_id: int) -> int:
        if self.after:
            await super().snapshot_one(run_id, address_id)
        raise Crash


async def a_mailing(uow_factory: UnitOfWorkFactory, people: int = 0) -> int:
    await roles.grant_role(
        uow_factory, _Quiet(), actor_id=None, target_id=MANAGER, role=Role.manager
    )
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Crowd", MANAGER))
        assert rlist.id is not None
        for chat in CHATS if not people else [str(9100 + i) for i in range(people)]:
            address = await uow.addresses.upsert(Address(AddressKind.telegram, chat))
            assert address.id is not None
            await uow.members.add_members(rlist.id, [address.id])
        mailing = await uow.mailings.add(
            Mailing(MANAGER, "News", Channel.telegram, body="Hi", list_ids=[rlist.id])
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


def launcher(queue: SqlDeliveryQueue) -> Launcher:
    return Launcher(queue, JinjaRenderer(), frozenset({Channel.telegram}))


async def crash_while_launching(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, *, test: bool, after: bool
) -> tuple[int, MailingRun]:
    mailing_id = await a_mailing(uow_factory)
    kind = launch.LaunchKind.test if test else launch.LaunchKind.now
    order = launch.LaunchOrder(mailing_id, kind, actor_id=MANAGER)
    with pytest.raises(Crash):
        await launch.start(uow_factory, launcher(CrashingQueue(engine, after)), order)
    async with uow_factory() as uow:
        run = await uow.runs.last_for_mailing(mailing_id)
    assert run is not None and run.status is RunStatus.paused
    return mailing_id, run


@pytest.mark.parametrize("after", [False, True], ids=["before-snapshot", "after-snapshot"])
async def test_a_launch_cut_by_a_crash_is_started_at_start_up(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine, after: bool
) -> None:
    mailing_id, cut = await crash_while_launching(uow_factory, db_engine, test=False, after=after)
    mended = await finish_interrupted_launches(uow_factory, SqlDeliveryQueue(db_engine))
    assert [run.id for run in mended] == [cut.id]
    run = mended[0]
    assert run.status is RunStatus.running and run.totals.pending == len(CHATS)
    assert run.note == f"recipients={len(CHATS)}"
    async with uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
    assert mailing is not None and mailing.status is MailingStatus.running
    assert await finish_interrupted_launches(uow_factory, SqlDeliveryQueue(db_engine)) == []


@pytest.mark.parametrize("after", [False, True], ids=["before-snapshot", "after-snapshot"])
async def test_a_test_send_cut_by_a_crash_is_sent_or_closed(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine, after: bool
) -> None:
    _, cut = await crash_while_launching(uow_factory, db_engine, test=True, after=after)
    [run] = await finish_interrupted_launches(uow_factory, SqlDeliveryQueue(db_engine))
    assert run.id == cut.id
    if after:  # its one recipient was in: it goes
        assert (run.status, run.totals.pending) == (RunStatus.running, 1)
    else:  # nobody to send it to: closed, and said why
        assert (run.status, run.note) == (RunStatus.failed, UNSTARTED)
        assert run.finished_at is not None


async def test_a_run_its_owner_paused_is_left_alone(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    mailing_id = await a_mailing(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    order = launch.LaunchOrder(mailing_id, launch.LaunchKind.now, actor_id=MANAGER)
    await launch.start(uow_factory, launcher(queue), order)
    await launch.set_paused(uow_factory, actor_id=MANAGER, mailing_id=mailing_id, paused=True)
    assert await finish_interrupted_launches(uow_factory, queue) == []
    async with uow_factory() as uow:
        run = await uow.runs.last_for_mailing(mailing_id)
    assert run is not None and run.status is RunStatus.paused


async def test_a_run_remembers_its_progress_message_until_the_summary(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    mailing_id = await a_mailing(uow_factory)
    order = launch.LaunchOrder(mailing_id, launch.LaunchKind.now, actor_id=MANAGER)
    run = await launch.start(uow_factory, launcher(SqlDeliveryQueue(db_engine)), order)
    assert run.id is not None and run.progress is None
    shown = ProgressMessage(chat_id=MANAGER, message_id=77, locale="en")
    await progress.show_progress(uow_factory, run.id, shown)
    [followed] = await progress.progress_to_follow(uow_factory)
    assert (followed.id, followed.progress) == (run.id, shown)
    await launch.set_paused(uow_factory, actor_id=MANAGER, mailing_id=mailing_id, paused=True)
    [still] = await progress.progress_to_follow(uow_factory)  # a run update keeps it
    assert still.progress == shown
    await progress.show_progress(uow_factory, run.id, None)
    assert await progress.progress_to_follow(uow_factory) == []


@pytest.mark.parametrize("after", [False, True], ids=["before-snapshot", "after-snapshot"])
async def test_an_ab_launch_cut_by_a_crash_keeps_its_split(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine, after: bool
) -> None:
    mailing_id = await a_mailing(uow_factory, people=40)
    test = ABTest(Part.text, (Variant(None, "Hello"),), percent=50, metric=Metric.delivered)
    await crash_with_options(uow_factory, db_engine, mailing_id, {AB_TEST: test.to_json()}, after)
    [mended] = await finish_interrupted_launches(uow_factory, SqlDeliveryQueue(db_engine))
    assert mended.status is RunStatus.running and mended.totals.pending == 40
    async with db_engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT address_id, variant FROM deliveries WHERE run_id = :r"),
                {"r": mended.id},
            )
        ).all()
    split = test.split(str(mended.id))
    assert dict(rows) == {
        a: placement(split.seed, a, split.percent, split.variants) for a, _ in rows
    }
    assert {v for _, v in rows} == {None, 0, 1}  # the rest still held for the winner


async def test_a_local_time_launch_cut_by_a_crash_keeps_its_release(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    mailing_id = await a_mailing(uow_factory)
    local = LocalTime(default_zone="Asia/Tokyo", at=time(10, 0))
    await crash_with_options(uow_factory, db_engine, mailing_id, {LOCAL_TIME: local.to_json()})
    clock = FixedClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))  # 21:00 in Tokyo
    [mended] = await finish_interrupted_launches(uow_factory, SqlDeliveryQueue(db_engine), clock)
    async with db_engine.connect() as conn:
        due = (
            (
                await conn.execute(
                    select(DeliveryRow.next_attempt_at).where(DeliveryRow.run_id == mended.id)
                )
            )
            .scalars()
            .all()
        )
    assert due == [datetime(2026, 12, 8, 1, 0, tzinfo=UTC)] * len(CHATS)  # Tokyo's next 10:00


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


async def crash_with_options(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    mailing_id: int,
    options: dict[str, object],
    after: bool = False,
) -> None:
    """The mailing gets ``options``, then its launch dies around the snapshot."""
    async with uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
        assert mailing is not None
        mailing.options = options
        await uow.mailings.update(mailing)
        await uow.commit()
    order = launch.LaunchOrder(mailing_id, launch.LaunchKind.now, actor_id=MANAGER)
    with pytest.raises(Crash):
        await launch.start(uow_factory, launcher(CrashingQueue(engine, after)), order)
