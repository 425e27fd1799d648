"""Use cases about runs and a mailing's settings, on the in-memory unit of work: a
channel that cannot send halts its run (``halt``), answer buttons (``answers``), the
retention purge (``retention``), the admin's account check (``account_check``), runs as a
program reads them (``runs_view``), local-time sending (``local_time``) and the tracking
switches (``mailing_tracking``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from domain.ab_test import AB_TEST
from domain.account_check import AccountCheck
from domain.answers import ANSWERS, OptionCount
from domain.errors import AccessDenied, IllegalTransition, InvalidInput, NotFound, Unauthenticated
from domain.local_time import LOCAL_TIME, LocalTime
from domain.mailings import Channel, Mailing, MailingStatus
from domain.outage import UNREACHABLE
from domain.recipients import RecipientList
from domain.runs import MailingRun, RunKind, RunStatus
from domain.segments import TAGS
from domain.tracking_plan import Switch
from domain.usecases import (
    account_check,
    answers,
    api_tokens,
    halt,
    local_time,
    mailing_tracking,
    retention,
    runs_view,
)
from domain.users import Role
from tests.fakes.memory_uow import MemoryDatabase, MemoryTokenRunReader, StatsUnread
from tests.fakes.team import (
    ADMIN,
    MANAGER,
    NOW,
    OTHER,
    STRANGER,
    StillClock,
    team_database,
)


@pytest.fixture
def db() -> MemoryDatabase:
    return team_database()


async def a_mailing(
    db: MemoryDatabase,
    owner: int = MANAGER,
    status: MailingStatus = MailingStatus.draft,
    **fields: object,
) -> int:
    async with db.uow_factory() as uow:
        name = f"News {len(db.mailings) + 1}"
        mailing = Mailing(owner, name, Channel.telegram, status=status)
        for key, value in fields.items():
            setattr(mailing, key, value)
        stored = await uow.mailings.add(mailing)
        await uow.commit()
    return stored.id or 0


async def a_run(db: MemoryDatabase, mailing_id: int, **fields: object) -> int:
    async with db.uow_factory() as uow:
        run = MailingRun(mailing_id, NOW + timedelta(seconds=len(db.runs)))
        for key, value in fields.items():
            setattr(run, key, value)
        stored = await uow.runs.add(run)
        await uow.commit()
    assert stored is not None
    return stored.id or 0


# -- halt --------------------------------------------------------------------------------


async def test_a_run_whose_channel_cannot_send_is_paused_with_its_mailing(
    db: MemoryDatabase,
) -> None:
    mailing_id = await a_mailing(db, status=MailingStatus.running)
    run_id = await a_run(db, mailing_id)
    assert await halt.halt_run(db.uow_factory, run_id, "smtp-auth-refused: 535") is True
    run = db.runs[run_id]
    assert (run.status, run.problem) == (RunStatus.paused, "smtp-auth-refused: 535")
    assert db.mailings[mailing_id].status is MailingStatus.paused
    entry = db.audit[-1]
    assert (entry.actor_id, entry.action, entry.target_id, entry.details) == (
        None,
        "run.halt",
        str(mailing_id),
        {"run": run_id},
    )
    # only a running run halts: a second report, or an unknown run, changes nothing
    assert await halt.halt_run(db.uow_factory, run_id, "other") is False
    assert await halt.halt_run(db.uow_factory, 999, "other") is False
    assert db.runs[run_id].problem == "smtp-auth-refused: 535" and len(db.audit) == 1


@pytest.mark.parametrize("kind", ["test", "follow-up"])
async def test_a_test_or_follow_up_run_halts_alone(db: MemoryDatabase, kind: str) -> None:
    mailing_id = await a_mailing(db, status=MailingStatus.running)
    extra: dict[str, object] = {"is_test": True} if kind == "test" else {"kind": RunKind.recall}
    run_id = await a_run(db, mailing_id, **extra)
    assert await halt.halt_run(db.uow_factory, run_id, "smtp-auth-refused") is True
    assert db.runs[run_id].status is RunStatus.paused
    assert db.mailings[mailing_id].status is MailingStatus.running  # the mailing goes on


async def test_an_unreachable_channel_is_noted_once_and_cleared(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db, status=MailingStatus.running)
    first = await a_run(db, mailing_id)
    halted = await a_run(db, mailing_id)
    await halt.halt_run(db.uow_factory, halted, "smtp-auth-refused")
    await halt.note_unreachable(db.uow_factory, first, f"{UNREACHABLE}: timeout")
    await halt.note_unreachable(db.uow_factory, first, f"{UNREACHABLE}: refused")  # kept
    await halt.note_unreachable(db.uow_factory, halted, f"{UNREACHABLE}: timeout")  # paused
    await halt.note_unreachable(db.uow_factory, 999, f"{UNREACHABLE}: timeout")
    assert db.runs[first].problem == f"{UNREACHABLE}: timeout"
    assert db.runs[first].status is RunStatus.running  # it goes on waiting
    assert db.runs[halted].problem == "smtp-auth-refused"
    await halt.clear_unreachable(db.uow_factory, {first, halted, 999})
    assert db.runs[first].problem is None
    assert db.runs[halted].problem == "smtp-auth-refused"  # another problem stays


# -- answers -----------------------------------------------------------------------------


class Book:
    """``AnswerBook``: copies delivered as (run, chat) -> message id; one answer each."""

    def __init__(self, delivered: dict[tuple[int, int], int]) -> None:
        self.delivered = delivered
        self.answers: dict[tuple[int, int], int] = {}
        self.at: list[datetime] = []

    async def record(
        self, run_id: int, chat_id: int, message_id: int, option: int, now: datetime
    ) -> int | None:
        if self.delivered.get((run_id, chat_id)) != message_id:
            return None
        before = self.answers.get((run_id, chat_id), -1)
        self.answers[(run_id, chat_id)] = option
        self.at.append(now)
        return before

    async def tally(self, run_id: int) -> dict[int, int]:
        counts: dict[int, int] = {}
        for (run, _), option in self.answers.items():
            if run == run_id:
                counts[option] = counts.get(option, 0) + 1
        return counts


async def test_a_press_counts_once_per_recipient_and_may_change(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    run_id = await a_run(db, mailing_id, content={"options": {ANSWERS: ["Yes", "No"]}})
    book = Book({(run_id, 10): 100, (run_id, 11): 101})
    clock = StillClock()

    async def press(option: int, chat: int = 10, message: int = 100) -> answers.Answered | None:
        return await answers.press(
            db.uow_factory,
            book,
            run_id=run_id,
            option=option,
            chat_id=chat,
            message_id=message,
            clock=clock,
        )

    assert await press(0) == answers.Answered("Yes", changed=False, again=False)
    assert await press(0) == answers.Answered("Yes", changed=False, again=True)
    assert await press(1) == answers.Answered("No", changed=True, again=False)
    assert await press(1, chat=11, message=101) == answers.Answered("No", False, False)
    assert book.at == [NOW] * 4
    counts = await answers.answer_counts(db.uow_factory, book, run_id)
    assert counts == [OptionCount("Yes", 0), OptionCount("No", 2)]


async def test_forged_or_stale_presses_are_ignored(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    content = {"options": {ANSWERS: ["Yes", "No"]}}
    run_id = await a_run(db, mailing_id, content=content)
    recall_id = await a_run(db, mailing_id, content=content, kind=RunKind.recall)
    plain_id = await a_run(db, mailing_id)
    book = Book({(run_id, 10): 100, (recall_id, 10): 100, (plain_id, 10): 100})
    for run, option, message in [
        (run_id, 2, 100),  # no such option
        (run_id, -1, 100),
        (run_id, 0, 999),  # not the presser's copy
        (999, 0, 100),  # no such run
        (recall_id, 0, 100),  # a follow-up carries no answers
        (plain_id, 0, 100),  # a run without answer buttons
    ]:
        pressed = await answers.press(
            db.uow_factory, book, run_id=run, option=option, chat_id=10, message_id=message
        )
        assert pressed is None
    assert book.answers == {}
    assert await answers.answer_counts(db.uow_factory, book, plain_id) == []
    assert await answers.answer_counts(db.uow_factory, book, 999) == []


# -- retention ---------------------------------------------------------------------------


class Retention:
    """``DeliveryRetention``: what a purge would delete per run, and the cut-offs asked."""

    def __init__(self, per_run: dict[int, int]) -> None:
        self.per_run = per_run
        self.calls: list[tuple[datetime, int]] = []

    async def purge(self, finished_before: datetime, batch_size: int = 10_000) -> dict[int, int]:
        self.calls.append((finished_before, batch_size))
        found, self.per_run = self.per_run, {}
        return found


async def test_old_rows_are_purged_from_the_cutoff_and_audited(db: MemoryDatabase) -> None:
    store = Retention({7: 1200, 9: 30})
    purged = await retention.purge_deliveries(
        db.uow_factory, store, days=30, clock=StillClock(), batch_size=500
    )
    cutoff = NOW - timedelta(days=30)
    assert purged == retention.Purged(cutoff, rows=1230, runs=2)
    assert store.calls == [(cutoff, 500)]
    entry = db.audit[-1]
    assert (entry.actor_id, entry.action, entry.details) == (
        None,
        "run.purge",
        {"rows": 1230, "runs": 2, "days": 30, "finished_before": cutoff.isoformat()},
    )
    again = await retention.purge_deliveries(db.uow_factory, store, days=30, clock=StillClock())
    assert (again.rows, again.runs, len(db.audit)) == (0, 0, 1)  # nothing deleted: no entry


async def test_retention_zero_keeps_everything(db: MemoryDatabase) -> None:
    store = Retention({7: 1200})
    for days in (0, -1):
        purged = await retention.purge_deliveries(db.uow_factory, store, days=days)
        assert purged == retention.Purged(None)
    assert store.calls == [] and db.audit == []


# -- account check -----------------------------------------------------------------------


class Checker:
    def __init__(self) -> None:
        self.calls = 0

    async def check(self) -> AccountCheck:
        self.calls += 1
        return AccountCheck("acme", "https://api.example", key_works=True, lists=3)


async def test_only_an_admin_checks_the_provider_account(db: MemoryDatabase) -> None:
    checker = Checker()
    found = await account_check.check_account(db.uow_factory, checker, actor_id=ADMIN)
    assert found is not None and (found.account, found.lists) == ("acme", 3)
    assert await account_check.check_account(db.uow_factory, None, actor_id=ADMIN) is None
    for actor in (MANAGER, STRANGER, 999):
        with pytest.raises(AccessDenied):
            await account_check.check_account(db.uow_factory, checker, actor_id=actor)
    assert checker.calls == 1


# -- runs as a program reads them --------------------------------------------------------


async def test_runs_are_read_by_their_mailings_owner_or_an_admin(db: MemoryDatabase) -> None:
    mine = await a_mailing(db, MANAGER)
    theirs = await a_mailing(db, OTHER)
    first = await a_run(db, mine)
    test = await a_run(db, mine, is_test=True)
    their_run = await a_run(db, theirs)
    assert (await runs_view.run_of(db.uow_factory, MANAGER, first)).id == first
    assert (await runs_view.run_of(db.uow_factory, ADMIN, their_run)).id == their_run
    ran = await runs_view.runs_of(db.uow_factory, MANAGER, mine)
    assert [r.id for r in ran] == [test, first]  # newest first, tests included
    for run_id in (their_run, 999):  # someone else's run looks like a missing one
        with pytest.raises(NotFound) as missing:
            await runs_view.run_of(db.uow_factory, MANAGER, run_id)
        assert missing.value.key == "stats-run-not-found"
    with pytest.raises(NotFound) as missing:
        await runs_view.runs_of(db.uow_factory, MANAGER, theirs)
    assert missing.value.key == "mailings-not-found"
    with pytest.raises(AccessDenied):
        await runs_view.run_of(db.uow_factory, STRANGER, first)
    db.mailings[mine].archived_at = NOW  # archived: only an admin still sees its runs
    with pytest.raises(NotFound):
        await runs_view.run_of(db.uow_factory, MANAGER, first)
    assert (await runs_view.run_of(db.uow_factory, ADMIN, first)).id == first


async def test_a_token_reads_its_owners_runs_in_one_read(db: MemoryDatabase) -> None:
    mine, theirs = await a_mailing(db, MANAGER), await a_mailing(db, OTHER)
    first, their_run = await a_run(db, mine), await a_run(db, theirs)
    token, secret = await api_tokens.create_token(db.uow_factory, MANAGER, MANAGER, "ci")
    reader = MemoryTokenRunReader(db)
    assert (await runs_view.run_for_token(db.uow_factory, reader, secret, first, NOW)).id == first
    assert db.api_tokens[token.id or 0].last_used_at == NOW  # noted as ``authenticate`` does
    for run_id in (their_run, 999):
        with pytest.raises(NotFound) as missing:
            await runs_view.run_for_token(db.uow_factory, reader, secret, run_id, NOW)
        assert missing.value.key == "stats-run-not-found"
    db.mailings[mine].archived_at = NOW  # archived: only an admin still sees its runs
    with pytest.raises(NotFound):
        await runs_view.run_for_token(db.uow_factory, reader, secret, first, NOW)
    db.users[MANAGER].role = None  # the owner lost the role: the token no longer works
    with pytest.raises(Unauthenticated):
        await runs_view.run_for_token(db.uow_factory, reader, secret, first, NOW)
    db.users[MANAGER].role = Role.manager
    await api_tokens.revoke_token(db.uow_factory, MANAGER, token.id or 0, NOW)
    for wrong in (secret, secret + "x"):  # revoked, unknown: never a run
        with pytest.raises(Unauthenticated):
            await runs_view.run_for_token(db.uow_factory, reader, wrong, first, NOW)


async def test_a_deliveries_page_is_checked_before_it_is_read(db: MemoryDatabase) -> None:
    theirs = await a_mailing(db, OTHER)
    their_run = await a_run(db, theirs)
    for limit in (0, runs_view.DELIVERIES_LIMIT + 1):
        with pytest.raises(InvalidInput) as refused:
            await runs_view.deliveries_of(
                db.uow_factory, StatsUnread(), MANAGER, their_run, after_id=0, limit=limit
            )
        assert refused.value.key == "api-limit-invalid"
    with pytest.raises(NotFound) as missing:  # someone else's run: refused before any read
        await runs_view.deliveries_of(
            db.uow_factory, StatsUnread(), MANAGER, their_run, after_id=0, limit=10
        )
    assert missing.value.key == "stats-run-not-found"


# -- local time --------------------------------------------------------------------------


async def a_list_with(db: MemoryDatabase, *fields: str) -> int:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"L{len(db.lists)}", MANAGER, fields=[*fields]))
        await uow.commit()
    return rlist.id or 0


async def test_local_time_is_stored_and_switched_off(db: MemoryDatabase) -> None:
    list_id = await a_list_with(db, "city", "tz", TAGS)
    mailing_id = await a_mailing(db, list_ids=[list_id], options={"tracking": False})
    local = LocalTime("Europe/Moscow", at=time(10, 0), field="tz")
    stored = await local_time.set_local_time(db.uow_factory, MANAGER, mailing_id, local)
    assert stored.options[LOCAL_TIME] == local.to_json()
    assert db.mailings[mailing_id].options == {"tracking": False, LOCAL_TIME: local.to_json()}
    everyone = LocalTime("UTC", quiet=(time(22, 0), time(8, 0)))  # no field: one zone
    await local_time.set_local_time(db.uow_factory, MANAGER, mailing_id, everyone)
    assert LocalTime.from_json(db.mailings[mailing_id].options[LOCAL_TIME]) == everyone
    await local_time.set_local_time(db.uow_factory, MANAGER, mailing_id, None)
    assert db.mailings[mailing_id].options == {"tracking": False}


async def test_local_time_refusals(db: MemoryDatabase) -> None:
    list_id = await a_list_with(db, "tz", TAGS)
    mailing_id = await a_mailing(db, list_ids=[list_id])
    for field in ("city", TAGS):  # a field the lists lack, or the tags
        with pytest.raises(InvalidInput) as refused:
            await local_time.set_local_time(
                db.uow_factory, MANAGER, mailing_id, LocalTime("UTC", field=field)
            )
        assert (refused.value.key, refused.value.params) == (
            "segment-unknown-field",
            {"field": field},
        )
    ab = await a_mailing(db, list_ids=[list_id], options={AB_TEST: {"variants": 2}})
    with pytest.raises(InvalidInput) as refused:
        await local_time.set_local_time(db.uow_factory, MANAGER, ab, LocalTime("UTC"))
    assert refused.value.key == "ab-not-with-local-time"
    sent = await a_mailing(db, status=MailingStatus.completed, list_ids=[list_id])
    with pytest.raises(IllegalTransition) as refused:
        await local_time.set_local_time(db.uow_factory, MANAGER, sent, LocalTime("UTC"))
    assert refused.value.key == "mailings-not-editable"
    theirs = await a_mailing(db, OTHER, list_ids=[list_id])
    with pytest.raises(NotFound):
        await local_time.set_local_time(db.uow_factory, MANAGER, theirs, LocalTime("UTC"))
    assert all(LOCAL_TIME not in m.options for m in db.mailings.values())


# -- tracking switches -------------------------------------------------------------------


async def test_tracking_and_utm_switches(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    switched = await mailing_tracking.switch(db.uow_factory, MANAGER, mailing_id, Switch.tracking)
    assert switched.options == {"tracking": False}
    await mailing_tracking.switch(db.uow_factory, MANAGER, mailing_id, Switch.tracking)
    await mailing_tracking.switch(db.uow_factory, MANAGER, mailing_id, Switch.utm)
    assert db.mailings[mailing_id].options == {"tracking": True, "utm": True}
    await mailing_tracking.switch(db.uow_factory, MANAGER, mailing_id, Switch.utm)
    assert db.mailings[mailing_id].options["utm"] is False


async def test_utm_content_turns_utm_on_and_a_dash_removes_it(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    await mailing_tracking.set_utm_content(db.uow_factory, MANAGER, mailing_id, "  spring  sale ")
    assert db.mailings[mailing_id].options == {"utm_content": "spring sale", "utm": True}
    await mailing_tracking.set_utm_content(db.uow_factory, MANAGER, mailing_id, "-")
    assert db.mailings[mailing_id].options == {"utm": True}
    with pytest.raises(InvalidInput) as refused:
        await mailing_tracking.set_utm_content(db.uow_factory, MANAGER, mailing_id, "x" * 500)
    assert refused.value.key == "dialog-utm-content-invalid"


async def test_tracking_switches_are_the_owners_and_only_while_editable(
    db: MemoryDatabase,
) -> None:
    theirs = await a_mailing(db, OTHER)
    with pytest.raises(NotFound):
        await mailing_tracking.switch(db.uow_factory, MANAGER, theirs, Switch.tracking)
    with pytest.raises(NotFound):
        await mailing_tracking.set_utm_content(db.uow_factory, MANAGER, theirs, "x")
    running = await a_mailing(db, status=MailingStatus.running)
    with pytest.raises(IllegalTransition):
        await mailing_tracking.switch(db.uow_factory, MANAGER, running, Switch.utm)
    assert db.mailings[theirs].options == {} and db.mailings[running].options == {}
    await mailing_tracking.switch(db.uow_factory, ADMIN, theirs, Switch.utm)  # an admin may
    assert db.mailings[theirs].options == {"utm": True}
