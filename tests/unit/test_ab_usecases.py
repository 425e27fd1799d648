"""A/B test use cases (``domain.usecases.ab_tests``) on the in-memory unit of work and
queue: variants checked where they are typed, the sample against the reachable count,
the launch's seeded split with the rest held, and the winner sent to the rest exactly
once, when the waiting time is up or by hand before."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from domain.ab_test import HELD, ABTest, Metric, Part, Split
from domain.delivery import RunContent
from domain.errors import DomainError, NotFound
from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import MailingRun
from domain.usecases import ab_tests, launch
from domain.users import Role, User
from infrastructure.rendering import JinjaRenderer
from tests.fakes.memory_uow import MemoryABTests, MemoryDatabase, MemoryQueue

OWNER, COLLEAGUE = 1, 2
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
RENDERER = JinjaRenderer()


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(
        users=[User(OWNER, role=Role.manager), User(COLLEAGUE, role=Role.manager)]
    )


async def email_mailing(db: MemoryDatabase, people: int = 200) -> int:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Readers", OWNER))
        ids = [
            (await uow.addresses.upsert(Address(AddressKind.email, f"r{i}@example.org"))).id or 0
            for i in range(people)
        ]
        await uow.members.add_members(rlist.id or 0, ids)
        mailing = Mailing(
            OWNER,
            "Sale",
            Channel.email,
            body="Hello {{ name }}",
            subject="Winter sale",
            list_ids=[rlist.id or 0],
        )
        made = await uow.mailings.add(mailing)
        await uow.commit()
    return made.id or 0


def refused(caught: pytest.ExceptionInfo[DomainError]) -> str:
    return caught.value.key


async def add(db: MemoryDatabase, mailing_id: int, part: Part, text: str) -> Mailing:
    return await ab_tests.add_variant(db.uow_factory, RENDERER, OWNER, mailing_id, part, text)


async def test_variants_are_checked_where_they_are_typed(db: MemoryDatabase) -> None:
    mailing_id = await email_mailing(db)
    mailing = await add(db, mailing_id, Part.subject, "Last days of the sale")
    test = ab_tests.test_of(mailing)
    assert test is not None and test.part is Part.subject and test.count == 2
    assert test.metric is Metric.opens  # the first an email with tracking offers
    with pytest.raises(DomainError) as caught:
        await add(db, mailing_id, Part.subject, "  Winter   sale ")  # A's own subject
    assert refused(caught) == "ab-variants-same" and caught.value.params["number"] == "C"
    with pytest.raises(DomainError) as caught:
        await add(db, mailing_id, Part.text, "Another text")  # one part per test
    assert refused(caught) == "ab-one-part"
    await add(db, mailing_id, Part.subject, "C subject")
    await add(db, mailing_id, Part.subject, "D subject")
    with pytest.raises(DomainError) as caught:
        await add(db, mailing_id, Part.subject, "E subject")
    assert refused(caught) == "ab-variant-count"
    with pytest.raises(DomainError) as caught:
        await add(db, mailing_id, Part.subject, "   ")
    assert refused(caught) == "ab-variant-empty"
    stored = ab_tests.test_of(db.mailings[mailing_id])
    assert stored is not None and stored.count == 4  # nothing refused was stored


async def test_a_variant_that_would_not_send_is_refused(db: MemoryDatabase) -> None:
    mailing_id = await email_mailing(db)
    with pytest.raises(DomainError) as caught:
        await add(db, mailing_id, Part.text, "Hello {{ name ")
    assert refused(caught) == "preview-template-error"
    with pytest.raises(DomainError) as caught:
        await add(db, mailing_id, Part.both, "Only a subject line")
    assert refused(caught) == "ab-variant-needs-both"
    assert ab_tests.test_of(db.mailings[mailing_id]) is None


async def test_the_sample_must_split_the_reachable_recipients(db: MemoryDatabase) -> None:
    mailing_id = await email_mailing(db, people=100)
    with pytest.raises(DomainError) as caught:
        await ab_tests.set_sample(db.uow_factory, OWNER, mailing_id, "20")
    assert refused(caught) == "ab-needs-variant"  # no test yet
    await add(db, mailing_id, Part.subject, "B")
    with pytest.raises(DomainError) as caught:
        await ab_tests.set_sample(db.uow_factory, OWNER, mailing_id, "10 %")
    assert refused(caught) == "ab-sample-too-small"
    assert caught.value.params == {"size": 10, "variants": 2, "least": 10}
    with pytest.raises(DomainError) as caught:
        await ab_tests.set_sample(db.uow_factory, OWNER, mailing_id, "abc")
    assert refused(caught) == "ab-sample-percent"
    mailing = await ab_tests.set_sample(db.uow_factory, OWNER, mailing_id, "25%")
    test = ab_tests.test_of(mailing)
    assert test is not None and test.percent == 25
    assert await ab_tests.sample_size(db.uow_factory, OWNER, mailing_id) == 25


async def test_waiting_time_and_metric(db: MemoryDatabase) -> None:
    mailing_id = await email_mailing(db)
    await add(db, mailing_id, Part.subject, "B")
    for typed, wait in (("90m", timedelta(minutes=90)), ("2", timedelta(hours=2))):
        mailing = await ab_tests.set_wait(db.uow_factory, OWNER, mailing_id, typed)
        test = ab_tests.test_of(mailing)
        assert test is not None and test.wait == wait
    for typed in ("5m", "8d", "soon"):
        with pytest.raises(DomainError) as caught:
            await ab_tests.set_wait(db.uow_factory, OWNER, mailing_id, typed)
        assert refused(caught) == "ab-wait-invalid"
    seen = []
    for _ in range(3):
        mailing = await ab_tests.next_metric(db.uow_factory, OWNER, mailing_id)
        test = ab_tests.test_of(mailing)
        assert test is not None
        seen.append(test.metric)
    assert seen == [Metric.clicks, Metric.delivered, Metric.opens]


async def test_someone_elses_mailing_is_not_found(db: MemoryDatabase) -> None:
    mailing_id = await email_mailing(db)
    with pytest.raises(NotFound):
        await ab_tests.add_variant(
            db.uow_factory, RENDERER, COLLEAGUE, mailing_id, Part.subject, "B"
        )


async def launched(db: MemoryDatabase, queue: MemoryQueue, mailing_id: int) -> MailingRun:
    return await launch.launch(
        db.uow_factory,
        queue,
        RENDERER,
        actor_id=OWNER,
        mailing_id=mailing_id,
        available=frozenset(Channel),
        clock=Clock(),
    )


async def ab_launch(db: MemoryDatabase, queue: MemoryQueue) -> MailingRun:
    mailing_id = await email_mailing(db, people=400)
    await add(db, mailing_id, Part.subject, "B subject")
    await add(db, mailing_id, Part.subject, "C subject")
    await ab_tests.set_sample(db.uow_factory, OWNER, mailing_id, "30")
    await ab_tests.set_wait(db.uow_factory, OWNER, mailing_id, "4h")
    for _ in range(2):  # opens -> clicks -> delivered (the memory store's metric)
        mailing = await ab_tests.next_metric(db.uow_factory, OWNER, mailing_id)
    test = ab_tests.test_of(mailing)
    assert test is not None and test.metric is Metric.delivered
    return await launched(db, queue, mailing_id)


async def test_a_launch_splits_a_seeded_sample_evenly_and_holds_the_rest(
    db: MemoryDatabase,
) -> None:
    queue = MemoryQueue(db)
    run = await ab_launch(db, queue)
    assert run.ab_due_at == NOW + timedelta(hours=4) and run.ab_result is None
    variants = RunContent.from_json(run.content).variants
    assert [v.subject for v in variants] == ["Winter sale", "B subject", "C subject"]
    placed = Counter(queue.variants.values())
    assert sum(placed.values()) == 400 == run.totals.pending
    assert 240 <= placed[None] <= 320  # the rest: 70 % of 400, held
    for variant in range(3):
        assert 25 <= placed[variant] <= 55  # 30 % of 400 in three even slices
    again = MemoryQueue(db)  # the same seed places everyone the same way again
    async with db.uow_factory() as uow:
        mailing = await uow.mailings.get(run.mailing_id)
    assert mailing is not None and run.id is not None
    await again.snapshot(run.id, mailing.list_ids, [AddressKind.email], split=split_of(run))
    assert again.variants == queue.variants


def split_of(run: MailingRun) -> Split:
    test = ABTest.from_json(run.content["options"]["ab_test"])
    assert test is not None and run.id is not None
    return test.split(str(run.id))


async def started(db: MemoryDatabase) -> tuple[MemoryQueue, MemoryABTests, int]:
    queue = MemoryQueue(db)
    run = await ab_launch(db, queue)
    assert run.id is not None
    return queue, MemoryABTests(db, queue), run.id


async def test_the_winner_goes_to_the_rest_once_when_the_wait_is_up(
    db: MemoryDatabase,
) -> None:
    queue, store, run_id = await started(db)
    for key, variant in queue.variants.items():  # B reaches everyone, A and C half
        if variant is not None and (variant == 1 or key[1] % 2):
            queue.rows[key] = "delivered"
    early = Clock(NOW + timedelta(hours=3))
    assert await ab_tests.decide_due(db.uow_factory, store, early) == []
    late = Clock(NOW + timedelta(hours=4, seconds=1))
    [decided] = await ab_tests.decide_due(db.uow_factory, store, late)
    assert decided.decision.winner == 1 and not decided.decision.by_hand
    assert decided.owner_id == OWNER and decided.mailing_name == "Sale"
    assert (
        decided.released == Counter(queue.variants.values())[1] - decided.decision.results[1].sent
    )
    assert None not in queue.variants.values()  # nobody held any more
    stored = db.runs[run_id]
    assert stored.ab_due_at is None and stored.ab_result is not None
    assert await ab_tests.decide_due(db.uow_factory, store, late) == []  # exactly once
    assert [e.action for e in db.audit][-1] == "mailing.ab_winner"


async def test_the_manager_may_pick_the_winner_before_the_wait_is_up(
    db: MemoryDatabase,
) -> None:
    queue, store, run_id = await started(db)
    with pytest.raises(NotFound):
        await ab_tests.pick_winner(
            db.uow_factory, store, actor_id=COLLEAGUE, run_id=run_id, variant=2
        )
    decided = await ab_tests.pick_winner(
        db.uow_factory, store, actor_id=OWNER, run_id=run_id, variant=2, clock=Clock()
    )
    assert decided.decision.winner == 2 and decided.decision.by_hand
    assert decided.decision.within_chance  # nothing delivered yet: no difference at all
    late = Clock(NOW + timedelta(days=1))
    assert await ab_tests.decide_due(db.uow_factory, store, late) == []
    with pytest.raises(DomainError) as caught:
        await ab_tests.pick_winner(db.uow_factory, store, actor_id=OWNER, run_id=run_id, variant=1)
    assert refused(caught) == "ab-already-decided"
    assert set(queue.variants.values()) <= {0, 1, 2}


async def test_the_launch_checks_the_test_again(db: MemoryDatabase) -> None:
    queue = MemoryQueue(db)
    mailing_id = await email_mailing(db, people=30)
    await add(db, mailing_id, Part.subject, "B subject")
    with pytest.raises(DomainError) as caught:
        await launched(db, queue, mailing_id)  # 20 % of 30 cannot give two variants 10
    assert refused(caught) == "ab-sample-too-small"
    assert queue.rows == {} and HELD.year == 9999


async def test_a_cancelled_runs_winner_is_not_picked(db: MemoryDatabase) -> None:
    queue, store, run_id = await started(db)
    await launch.cancel(db.uow_factory, actor_id=OWNER, mailing_id=db.runs[run_id].mailing_id)
    with pytest.raises(DomainError) as caught:
        await ab_tests.pick_winner(db.uow_factory, store, actor_id=OWNER, run_id=run_id, variant=1)
    assert refused(caught) == "ab-run-ended"
    late = Clock(NOW + timedelta(days=1))
    assert await ab_tests.decide_due(db.uow_factory, store, late) == []  # nor by the timer
    assert None in queue.variants.values()  # the rest never goes out
