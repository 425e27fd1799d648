"""Launching (``domain.usecases.launch``) on the in-memory unit of work and queue: the
checks before anything starts, the run and its snapshot, test sends, a double press,
pause, resume, cancel, and a drained run moving its mailing on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import IllegalTransition, InvalidInput, NotFound
from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import MailingRun, RunStatus, RunTotals
from domain.usecases import launch
from domain.users import Role, User
from infrastructure.rendering import JinjaRenderer
from tests.fakes.memory_uow import MemoryDatabase, MemoryQueue

OWNER, COLLEAGUE = 1, 2
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ALL = frozenset(Channel)


class FixedClock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(
        users=[User(OWNER, role=Role.manager), User(COLLEAGUE, role=Role.manager)]
    )


async def mailing_to(db: MemoryDatabase, *addresses: Address, **fields: object) -> int:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"L{len(db.lists)}", OWNER))
        ids = [(await uow.addresses.upsert(a)).id or 0 for a in addresses]
        await uow.members.add_members(rlist.id or 0, ids)
        values: dict[str, object] = {"channel": Channel.telegram, "body": "Hello {{ address }}"}
        values |= fields
        mailing = Mailing(OWNER, f"M{len(db.mailings)}", list_ids=[rlist.id or 0], **values)
        made = await uow.mailings.add(mailing)
        await uow.commit()
    return made.id or 0


def chats(*ids: int) -> list[Address]:
    return [Address(AddressKind.telegram, str(i)) for i in ids]


async def press_launch(
    db: MemoryDatabase, queue: MemoryQueue, mailing_id: int, actor: int = OWNER
) -> MailingRun:
    return await launch.launch(
        db.uow_factory,
        queue,
        JinjaRenderer(),
        actor_id=actor,
        mailing_id=mailing_id,
        available=ALL,
        clock=FixedClock(),
    )


async def test_a_launch_freezes_the_content_snapshots_the_reachable_and_runs(
    db: MemoryDatabase,
) -> None:
    queue = MemoryQueue(db)
    blocked = Address(AddressKind.telegram, "13", refused_at=NOW)
    mailing_id = await mailing_to(db, *chats(10, 11, 12), blocked)
    run = await press_launch(db, queue, mailing_id)

    assert run.status is RunStatus.running and run.totals == RunTotals(pending=3)
    assert run.launched_by == OWNER and not run.is_test and run.scheduled_for == NOW
    assert run.note == "recipients=3"
    assert {run_id for run_id, _ in queue.rows} == {run.id}
    assert len(queue.rows) == 3  # the refused address is left out
    assert db.mailings[mailing_id].status is MailingStatus.running
    assert [e.action for e in db.audit] == ["mailing.launch"]
    # the run keeps its own copy: editing the mailing later changes nothing sent
    assert "Hello {{ address }}" in str(db.runs[run.id or 0].content)


async def test_a_launch_that_fails_a_check_starts_nothing(db: MemoryDatabase) -> None:
    queue = MemoryQueue(db)
    too_long = await mailing_to(db, *chats(10), body="x" * 4097)
    with pytest.raises(InvalidInput) as refused:
        await press_launch(db, queue, too_long)
    assert refused.value.key == "launch-blocked"
    assert refused.value.params["reason"] == "preview-too-long"
    assert db.runs == {} and queue.rows == {} and db.audit == []
    assert db.mailings[too_long].status is MailingStatus.draft


async def test_a_second_press_is_refused_while_it_runs(db: MemoryDatabase) -> None:
    queue = MemoryQueue(db)
    mailing_id = await mailing_to(db, *chats(10))
    await press_launch(db, queue, mailing_id)
    with pytest.raises(IllegalTransition) as again:
        await press_launch(db, queue, mailing_id)
    assert again.value.key == "launch-already-running"
    assert len(db.runs) == 1


async def test_someone_elses_mailing_cannot_be_launched(db: MemoryDatabase) -> None:
    mailing_id = await mailing_to(db, *chats(10))
    with pytest.raises(NotFound):
        await press_launch(db, MemoryQueue(db), mailing_id, actor=COLLEAGUE)
    assert db.runs == {}


async def test_a_test_goes_to_its_sender_alone_and_leaves_the_mailing_as_it_is(
    db: MemoryDatabase,
) -> None:
    queue = MemoryQueue(db)
    mailing_id = await mailing_to(db, *chats(10, 11))
    db.mailings[mailing_id].list_ids = []  # no audience: a test does not need one
    run = await launch.send_test(
        db.uow_factory,
        queue,
        JinjaRenderer(),
        actor_id=OWNER,
        mailing_id=mailing_id,
        available=ALL,
    )
    assert run.is_test and run.totals == RunTotals(pending=1)
    [(_, address_id)] = queue.rows
    assert db.addresses[address_id].value == str(OWNER)
    assert db.mailings[mailing_id].status is MailingStatus.draft and db.audit == []


async def test_an_email_test_needs_an_address(db: MemoryDatabase) -> None:
    queue = MemoryQueue(db)
    mailing_id = await mailing_to(
        db, Address(AddressKind.email, "a@example.com"), channel=Channel.email, subject="Hi"
    )
    test = launch.send_test
    with pytest.raises(InvalidInput) as asked:
        await test(
            db.uow_factory,
            queue,
            JinjaRenderer(),
            actor_id=OWNER,
            mailing_id=mailing_id,
            available=ALL,
        )
    assert asked.value.key == "launch-test-needs-email"
    run = await test(
        db.uow_factory,
        queue,
        JinjaRenderer(),
        actor_id=OWNER,
        mailing_id=mailing_id,
        available=ALL,
        email="me@example.com",
    )
    [(_, address_id)] = [key for key in queue.rows if key[0] == run.id]
    assert db.addresses[address_id].value == "me@example.com"


async def test_pause_resume_and_cancel_move_the_run_and_the_mailing_together(
    db: MemoryDatabase,
) -> None:
    queue = MemoryQueue(db)
    mailing_id = await mailing_to(db, *chats(10))
    with pytest.raises(IllegalTransition) as idle:
        await launch.set_paused(db.uow_factory, actor_id=OWNER, mailing_id=mailing_id, paused=True)
    assert idle.value.key == "launch-not-running"
    run = await press_launch(db, queue, mailing_id)

    await launch.set_paused(db.uow_factory, actor_id=OWNER, mailing_id=mailing_id, paused=True)
    assert db.runs[run.id or 0].status is RunStatus.paused
    assert db.mailings[mailing_id].status is MailingStatus.paused
    await launch.set_paused(db.uow_factory, actor_id=OWNER, mailing_id=mailing_id, paused=False)
    assert db.runs[run.id or 0].status is RunStatus.running
    assert db.mailings[mailing_id].status is MailingStatus.running

    stopped = await launch.cancel(
        db.uow_factory, actor_id=OWNER, mailing_id=mailing_id, clock=FixedClock()
    )
    assert stopped is not None and stopped.status is RunStatus.cancelled
    assert stopped.finished_at == NOW and stopped.totals == RunTotals(
        pending=1
    )  # unsent stays counted
    assert db.mailings[mailing_id].status is MailingStatus.cancelled
    assert [e.action for e in db.audit] == [
        "mailing.launch",
        "mailing.pause",
        "mailing.resume",
        "mailing.cancel",
    ]


async def test_a_drained_run_completes_and_its_mailing_moves_on(db: MemoryDatabase) -> None:
    queue = MemoryQueue(db)
    once = await mailing_to(db, *chats(10))
    recurring = await mailing_to(db, *chats(11))
    db.mailings[recurring].schedule = Schedule(ScheduleKind.cron, cron="0 9 * * *")
    runs = [await press_launch(db, queue, m) for m in (once, recurring)]
    test = await launch.send_test(
        db.uow_factory, queue, JinjaRenderer(), actor_id=OWNER, mailing_id=once, available=ALL
    )
    for run in (*runs, test):
        db.runs[run.id or 0].totals = RunTotals(delivered=1)  # as the workers record it

    finished = await launch.finish_drained_runs(db.uow_factory, NOW)
    assert sorted(r.id or 0 for r in finished) == sorted(r.id or 0 for r in (*runs, test))
    assert all(db.runs[r.id or 0].status is RunStatus.completed for r in finished)
    assert db.mailings[once].status is MailingStatus.completed
    assert db.mailings[recurring].status is MailingStatus.scheduled  # waits for its next slot
    assert await launch.finish_drained_runs(db.uow_factory, NOW) == []
