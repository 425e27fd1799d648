"""A mailing's segment and the saved segments (``domain.usecases.segments``), a run's
results per segment (``segment_stats``) and a launch behind an idempotency key
(``launch_once``), on the in-memory unit of work. Who matches a segment is SQL
(``tests/integration``); here: what is stored, what is refused, and whose it is."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime

import pytest

from domain.errors import AccessDenied, Conflict, IllegalTransition, InvalidInput, NotFound
from domain.mailings import Channel, Mailing, MailingStatus, Schedule
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import MailingRun, RunStatus
from domain.saved_segments import SavedSegment
from domain.segment_results import MAX_SEGMENTS, SegmentResult
from domain.segments import TAGS, Condition, Match, Op, Segment
from domain.targeting import Targeting
from domain.usecases import launch_once, segment_stats, segments
from domain.usecases.launch import Launcher
from infrastructure.rendering import JinjaRenderer
from tests.fakes.memory_uow import MemoryDatabase, MemoryQueue
from tests.fakes.team import ADMIN, MANAGER, OTHER, STRANGER, StillClock, team_database

NOW = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)


@pytest.fixture
def db() -> MemoryDatabase:
    return team_database()


async def a_mailing(
    db: MemoryDatabase, owner: int = MANAGER, fields: Sequence[str] = ("city", "age"), **kw: object
) -> int:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"L{len(db.lists)}", owner, fields=[*fields]))
        mailing = Mailing(
            owner, f"M{len(db.mailings)}", Channel.telegram, body="Hi", list_ids=[rlist.id or 0]
        )
        for key, value in kw.items():
            setattr(mailing, key, value)
        made = await uow.mailings.add(mailing)
        await uow.commit()
    return made.id or 0


def segment_of(db: MemoryDatabase, mailing_id: int) -> Segment:
    return db.mailings[mailing_id].targeting.segment


# -- a mailing's segment -----------------------------------------------------------------


async def test_conditions_are_parsed_checked_and_stored_one_at_a_time(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    await segments.add_condition(db.uow_factory, MANAGER, mailing_id, "city", Op.equals, " Kazan ")
    await segments.add_condition(db.uow_factory, MANAGER, mailing_id, "age", Op.greater, "17,5")
    await segments.add_condition(db.uow_factory, MANAGER, mailing_id, "x", Op.has_tag, "VIP")
    assert segment_of(db, mailing_id).conditions == (
        Condition("city", Op.equals, "Kazan"),
        Condition("age", Op.greater, 17.5),
        Condition(TAGS, Op.has_tag, "vip"),  # tags exist on every list
    )
    await segments.switch_match(db.uow_factory, MANAGER, mailing_id)
    assert segment_of(db, mailing_id).match is Match.any
    await segments.remove_condition(db.uow_factory, MANAGER, mailing_id, 1)
    assert [c.field for c in segment_of(db, mailing_id).conditions] == ["city", TAGS]
    await segments.remove_condition(db.uow_factory, MANAGER, mailing_id, 9)  # no such: no-op
    assert len(segment_of(db, mailing_id).conditions) == 2
    fields = await segments.fields(db.uow_factory, MANAGER, mailing_id)
    assert fields == ["age", "city", TAGS]


async def test_a_wrong_condition_stores_nothing(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    add = segments.add_condition
    cases = [
        ("phone", Op.equals, "1", "segment-unknown-field"),  # the lists have no such field
        ("age", Op.greater, "old", "segment-not-a-number"),
        ("city", Op.before, "soon", "segment-not-a-date"),
        ("city", Op.equals, " ", "segment-value-empty"),
        ("city", Op.within_days, "0", "segment-days-invalid"),
    ]
    for field, op, text, key in cases:
        with pytest.raises(InvalidInput) as refused:
            await add(db.uow_factory, MANAGER, mailing_id, field, op, text)
        assert refused.value.key == key
    assert segment_of(db, mailing_id).is_empty and db.committed == 1  # the set-up only


async def test_segments_are_the_owners_and_only_while_editable(db: MemoryDatabase) -> None:
    theirs = await a_mailing(db, OTHER)
    with pytest.raises(NotFound) as missing:
        await segments.add_condition(db.uow_factory, MANAGER, theirs, "city", Op.not_empty)
    assert missing.value.key == "mailings-not-found"
    with pytest.raises(NotFound):
        await segments.fields(db.uow_factory, MANAGER, theirs)
    with pytest.raises(AccessDenied):
        await segments.switch_match(db.uow_factory, STRANGER, theirs)
    running = await a_mailing(db, status=MailingStatus.running)
    with pytest.raises(IllegalTransition):
        await segments.add_condition(db.uow_factory, MANAGER, running, "city", Op.not_empty)
    assert segment_of(db, theirs).is_empty and segment_of(db, running).is_empty
    await segments.add_condition(db.uow_factory, ADMIN, theirs, "city", Op.not_empty)
    assert segment_of(db, theirs).conditions == (Condition("city", Op.not_empty),)


async def test_exclusions_toggle_and_name_only_what_the_caller_may_see(
    db: MemoryDatabase,
) -> None:
    mailing_id = await a_mailing(db)
    earlier = await a_mailing(db)
    theirs = await a_mailing(db, OTHER)
    list_id = db.mailings[earlier].list_ids[0]
    await segments.toggle_excluded_list(db.uow_factory, MANAGER, mailing_id, list_id)
    await segments.toggle_excluded_mailing(db.uow_factory, MANAGER, mailing_id, earlier)
    await segments.toggle_excluded_mailing(
        db.uow_factory, MANAGER, mailing_id, earlier, clicked=True
    )
    targeting = db.mailings[mailing_id].targeting
    assert (targeting.exclude_lists, targeting.exclude_got, targeting.exclude_clicked) == (
        (list_id,),
        (earlier,),
        (earlier,),
    )
    names = await segments.excluded_names(db.uow_factory, MANAGER, db.mailings[mailing_id])
    assert names == {earlier: db.mailings[earlier].name}
    await segments.toggle_excluded_list(db.uow_factory, MANAGER, mailing_id, list_id)  # back
    assert db.mailings[mailing_id].targeting.exclude_lists == ()
    with pytest.raises(NotFound) as missing:
        await segments.toggle_excluded_list(db.uow_factory, MANAGER, mailing_id, 999)
    assert missing.value.key == "lists-not-found"
    with pytest.raises(NotFound) as missing:  # another manager's mailing cannot be named
        await segments.toggle_excluded_mailing(db.uow_factory, MANAGER, mailing_id, theirs)
    assert missing.value.key == "mailings-not-found"
    assert db.mailings[mailing_id].targeting.exclude_got == (earlier,)


async def test_the_reachable_count_of_a_mailing_without_a_segment(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    list_id = db.mailings[mailing_id].list_ids[0]
    async with db.uow_factory() as uow:
        ids = [
            (await uow.addresses.upsert(a)).id or 0
            for a in (
                Address(AddressKind.telegram, "10"),
                Address(AddressKind.telegram, "11", refused_at=NOW),
                Address(AddressKind.email, "a@x.io"),
            )
        ]
        await uow.members.add_members(list_id, ids)
        await uow.commit()
    audience = await segments.reachable(db.uow_factory, MANAGER, mailing_id, date(2026, 12, 7))
    assert (audience.reachable, audience.suppressed, audience.other_kinds) == (1, 1, 1)
    with pytest.raises(NotFound):
        await segments.reachable(db.uow_factory, OTHER, mailing_id)


# -- saved segments ----------------------------------------------------------------------


class Indexes:
    def __init__(self) -> None:
        self.asked: list[set[str]] = []

    async def ensure(self, fields: Collection[str]) -> None:
        self.asked.append(set(fields))


async def test_a_segment_is_saved_under_a_unique_name_and_its_fields_indexed(
    db: MemoryDatabase,
) -> None:
    mailing_id = await a_mailing(db)
    await segments.add_condition(db.uow_factory, MANAGER, mailing_id, "city", Op.equals, "Kazan")
    await segments.add_condition(db.uow_factory, MANAGER, mailing_id, "age", Op.greater, "18")
    indexes = Indexes()
    saved = await segments.save(db.uow_factory, MANAGER, mailing_id, "  Kazan  adults ", indexes)
    assert (saved.owner_id, saved.name) == (MANAGER, "Kazan adults")
    assert db.segments[saved.id or 0].segment == segment_of(db, mailing_id)
    assert indexes.asked == [{"city"}]  # equality conditions only
    assert db.audit[-1].action == "segment.save"
    with pytest.raises(Conflict) as taken:
        await segments.save(db.uow_factory, MANAGER, mailing_id, "KAZAN ADULTS")
    assert taken.value.key == "segments-name-taken"
    # names are per manager: another one may use it
    theirs = await a_mailing(db, OTHER)
    await segments.add_condition(db.uow_factory, OTHER, theirs, "city", Op.not_empty)
    await segments.save(db.uow_factory, OTHER, theirs, "Kazan adults")
    assert len(db.segments) == 2


async def test_saving_refusals(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    with pytest.raises(InvalidInput) as refused:
        await segments.save(db.uow_factory, MANAGER, mailing_id, "Empty")
    assert refused.value.key == "segment-nothing-to-save"
    for name in (" ", "x" * (segments.NAME_MAX + 1)):
        with pytest.raises(InvalidInput) as refused:
            await segments.save(db.uow_factory, MANAGER, mailing_id, name)
        assert refused.value.key == "segments-name-invalid"
    theirs = await a_mailing(db, OTHER)
    with pytest.raises(NotFound):
        await segments.save(db.uow_factory, MANAGER, theirs, "Theirs")
    assert db.segments == {}


async def saved_by(db: MemoryDatabase, owner: int, name: str, *conditions: Condition) -> int:
    async with db.uow_factory() as uow:
        saved = await uow.segments.add(SavedSegment(owner, name, Segment(conditions)))
        await uow.commit()
    return saved.id or 0


async def test_a_saved_segment_is_copied_into_a_mailing_or_excluded(db: MemoryDatabase) -> None:
    city = Condition("city", Op.equals, "Kazan")
    saved_id = await saved_by(db, MANAGER, "Kazan", city)
    mailing_id = await a_mailing(db)
    await segments.add_condition(db.uow_factory, MANAGER, mailing_id, "age", Op.less, "30")
    await segments.use_saved(db.uow_factory, MANAGER, mailing_id, saved_id, exclude=True)
    targeting = db.mailings[mailing_id].targeting
    assert targeting.segment.conditions == (Condition("age", Op.less, 30.0),)  # kept
    assert (targeting.exclude_segment, targeting.exclude_segment_name) == (
        Segment((city,)),
        "Kazan",
    )
    await segments.use_saved(db.uow_factory, MANAGER, mailing_id, saved_id)
    assert segment_of(db, mailing_id) == Segment((city,))
    # the mailing keeps its copy when the saved one goes
    assert await segments.delete_saved(db.uow_factory, MANAGER, saved_id) == "Kazan"
    assert db.segments == {} and segment_of(db, mailing_id) == Segment((city,))
    assert db.audit[-1].action == "segment.delete"


async def test_a_saved_segment_is_its_owners_alone(db: MemoryDatabase) -> None:
    theirs = await saved_by(db, OTHER, "Theirs", Condition("city", Op.not_empty))
    mine = await saved_by(db, MANAGER, "b", Condition("city", Op.not_empty))
    await saved_by(db, MANAGER, "a", Condition("age", Op.not_empty))
    mailing_id = await a_mailing(db)
    for call in (
        segments.use_saved(db.uow_factory, MANAGER, mailing_id, theirs),
        segments.delete_saved(db.uow_factory, MANAGER, theirs),
        segments.delete_saved(db.uow_factory, MANAGER, 999),
    ):
        with pytest.raises(NotFound) as missing:
            await call
        assert missing.value.key == "segments-not-found"
    assert theirs in db.segments
    listed = await segments.saved_segments(db.uow_factory, MANAGER)
    assert [s.name for s in listed] == ["a", "b"]  # by name, mine only
    with pytest.raises(AccessDenied):
        await segments.saved_segments(db.uow_factory, STRANGER)
    # a saved segment whose field the mailing's lists lack is refused
    other_fields = await a_mailing(db, fields=("age",))
    with pytest.raises(InvalidInput) as refused:
        await segments.use_saved(db.uow_factory, MANAGER, other_fields, mine)
    assert refused.value.key == "segment-unknown-field"
    assert segment_of(db, other_fields).is_empty


# -- a run's results per segment ---------------------------------------------------------


class Results:
    """``SegmentResults``: echoes what it was asked, one recipient per segment."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, list[str], date]] = []

    async def results(
        self, run_id: int, segments: Sequence[tuple[str, Segment]], today: date
    ) -> list[SegmentResult]:
        self.asked.append((run_id, [name for name, _ in segments], today))
        return [SegmentResult(name, 1, 1, 0, 0) for name, _ in segments]


async def a_run(db: MemoryDatabase, mailing_id: int) -> int:
    async with db.uow_factory() as uow:
        run = await uow.runs.add(MailingRun(mailing_id, NOW, status=RunStatus.completed))
        await uow.commit()
    assert run is not None
    return run.id or 0


async def test_a_runs_results_by_its_own_and_the_callers_saved_segments(
    db: MemoryDatabase,
) -> None:
    own = Segment((Condition("city", Op.not_empty),))
    mailing_id = await a_mailing(
        db, targeting=Targeting(segment=own), schedule=Schedule(timezone="Asia/Vladivostok")
    )
    run_id = await a_run(db, mailing_id)
    for index in range(MAX_SEGMENTS + 1):
        await saved_by(db, MANAGER, f"s{index}", Condition("age", Op.not_empty))
    await saved_by(db, OTHER, "theirs", Condition("age", Op.not_empty))
    store = Results()
    found = await segment_stats.by_segment(
        db.uow_factory,
        store,
        actor_id=MANAGER,
        mailing_id=mailing_id,
        run_id=run_id,
        clock=StillClock(NOW),
    )
    names = [segment_stats.OWN, *(f"s{i}" for i in range(MAX_SEGMENTS))]
    assert [r.name for r in found] == names  # the caller's, at most MAX_SEGMENTS
    assert store.asked == [(run_id, names, date(2026, 12, 8))]  # the mailing's day


async def test_segment_results_refusals_and_nothing_to_ask(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    run_id = await a_run(db, mailing_id)
    store = Results()
    by = segment_stats.by_segment
    assert (
        await by(db.uow_factory, store, actor_id=MANAGER, mailing_id=mailing_id, run_id=run_id)
        == []
    )
    other = await a_mailing(db)
    with pytest.raises(NotFound) as missing:  # a run of another mailing
        await by(db.uow_factory, store, actor_id=MANAGER, mailing_id=other, run_id=run_id)
    assert missing.value.key == "stats-run-not-found"
    with pytest.raises(NotFound) as missing:
        await by(db.uow_factory, store, actor_id=OTHER, mailing_id=mailing_id, run_id=run_id)
    assert missing.value.key == "mailings-not-found"
    assert store.asked == []


# -- launch behind an idempotency key ----------------------------------------------------


async def launchable(db: MemoryDatabase, owner: int = MANAGER) -> int:
    mailing_id = await a_mailing(db, owner)
    async with db.uow_factory() as uow:
        chat = await uow.addresses.upsert(
            Address(AddressKind.telegram, f"{100 + len(db.mailings)}")
        )
        await uow.members.add_members(db.mailings[mailing_id].list_ids[0], [chat.id or 0])
        await uow.commit()
    return mailing_id


def launcher(db: MemoryDatabase) -> tuple[Launcher, MemoryQueue]:
    queue = MemoryQueue(db)
    return Launcher(queue, JinjaRenderer(), frozenset(Channel)), queue


async def test_a_repeated_key_returns_the_same_run(db: MemoryDatabase) -> None:
    mailing_id = await launchable(db)
    how, queue = launcher(db)

    async def once(key: str = "k1", request: str = "h1") -> tuple[MailingRun, bool]:
        return await launch_once.launch_once(
            db.uow_factory,
            how,
            actor_id=MANAGER,
            mailing_id=mailing_id,
            key=key,
            request_hash=request,
            clock=StillClock(NOW),
        )

    run, made = await once()
    assert made and run.status is RunStatus.running and len(queue.rows) == 1
    assert db.idempotency[(MANAGER, "k1")].run_id == run.id
    again, made = await once()
    assert not made and again.id == run.id and len(db.runs) == 1
    with pytest.raises(InvalidInput) as refused:  # the key with another request
        await once(request="h2")
    assert refused.value.key == "api-idempotency-key-reused"
    for key in ("", "k" * 201):
        with pytest.raises(InvalidInput) as refused:
            await once(key=key)
        assert refused.value.key == "api-idempotency-key-invalid"
    assert len(db.runs) == 1


async def test_a_key_still_launching_is_a_conflict_and_a_failed_launch_frees_it(
    db: MemoryDatabase,
) -> None:
    mailing_id = await launchable(db)
    how, _ = launcher(db)
    async with db.uow_factory() as uow:  # another call holds the key, still launching
        await uow.idempotency.reserve(MANAGER, "busy", "h1")
        await uow.commit()
    with pytest.raises(Conflict) as busy:
        await launch_once.launch_once(
            db.uow_factory,
            how,
            actor_id=MANAGER,
            mailing_id=mailing_id,
            key="busy",
            request_hash="h1",
        )
    assert busy.value.key == "api-idempotency-in-progress"
    empty = await a_mailing(db)  # nobody to send to: the launch is refused
    with pytest.raises(InvalidInput) as blocked:
        await launch_once.launch_once(
            db.uow_factory, how, actor_id=MANAGER, mailing_id=empty, key="k2", request_hash="h1"
        )
    assert blocked.value.key == "launch-blocked"
    assert (MANAGER, "k2") not in db.idempotency and db.runs == {}  # the key is free again


async def test_another_managers_mailing_is_not_launched_nor_its_key_taken(
    db: MemoryDatabase,
) -> None:
    theirs = await launchable(db, OTHER)
    how, queue = launcher(db)
    with pytest.raises(NotFound) as missing:
        await launch_once.launch_once(
            db.uow_factory, how, actor_id=MANAGER, mailing_id=theirs, key="k", request_hash="h"
        )
    assert missing.value.key == "mailings-not-found"
    assert db.idempotency == {} and db.runs == {} and queue.rows == {}
