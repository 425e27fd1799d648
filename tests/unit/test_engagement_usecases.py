"""After sending, on the in-memory unit of work: opens and clicks as the web server hears
them (``domain.usecases.tracking``), a run's engagement report (``engagement_stats``) and
what a classified bounce does (``bounces``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.bounces import BounceKind, BounceReport, SoftStreak
from domain.engagement import DeliveryRef, LinkClicks, RunEngagement
from domain.errors import NotFound
from domain.mailings import Channel, Mailing, MailingStatus
from domain.recipients import Address, AddressKind
from domain.runs import DeliveryStatus, MailingRun, RunStatus, RunTotals
from domain.signing import Signer
from domain.tracking import TrackingUrls
from domain.usecases import bounces, engagement_stats, tracking
from domain.webhooks import Endpoint, EventType
from tests.fakes.memory_uow import MemoryDatabase, MemoryEngagementReader, MemoryUnitOfWork
from tests.fakes.team import MANAGER, NOW, OTHER, team_database

LINKS = ["https://shop.example/a", "https://shop.example/b"]
SENT = NOW - timedelta(hours=1)


@pytest.fixture
def db() -> MemoryDatabase:
    return team_database()


async def a_sent_run(
    db: MemoryDatabase,
    owner: int = MANAGER,
    *,
    options: dict[str, object] | None = None,
    recipients: int = 2,
) -> tuple[int, int, list[int]]:
    """An email mailing of ``owner``, its completed run and one delivered delivery per
    recipient (delivery ids = address ids); (mailing id, run id, delivery ids)."""
    async with db.uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(owner, f"M{len(db.mailings)}", Channel.email, status=MailingStatus.completed)
        )
        content = {
            "mailing_id": mailing.id,
            "mailing_name": mailing.name,
            "channel": "email",
            "body": "Hi",
            "links": LINKS,
            "options": options or {},
        }
        run = await uow.runs.add(
            MailingRun(
                mailing.id or 0,
                SENT,
                content=content,
                status=RunStatus.completed,
                totals=RunTotals(delivered=recipients),
            )
        )
        assert run is not None
        ids = []
        for n in range(recipients):
            address = await uow.addresses.upsert(Address(AddressKind.email, f"r{n}.{run.id}@x.io"))
            ref = DeliveryRef(
                address.id or 0, run.id or 0, address.id or 0, DeliveryStatus.delivered, SENT
            )
            uow.state.deliveries[ref.delivery_id] = ref
            ids.append(ref.delivery_id)
        await uow.commit()
    return mailing.id or 0, run.id or 0, ids


URLS = TrackingUrls(Signer(b"test secret"), "https://t.example")


def open_token(run_id: int, delivery_id: int) -> str:
    return URLS.open_url(run_id, delivery_id).rsplit("/", 1)[1]


def click_token(run_id: int, delivery_id: int, index: int) -> str:
    return URLS.click_url(run_id, delivery_id, index).rsplit("/", 1)[1]


# -- opens and clicks --------------------------------------------------------------------


async def test_an_open_counts_once_and_ends_a_soft_bounce_streak(db: MemoryDatabase) -> None:
    _, run_id, (first, second) = await a_sent_run(db)
    db.state.soft_streaks[first] = SoftStreak(2, run_id)
    tracker = tracking.Tracker(db.uow_factory, URLS)
    assert await tracker.open(open_token(run_id, first), NOW) is True
    assert await tracker.open(open_token(run_id, first), NOW) is True  # genuine, not counted
    assert await tracker.open(open_token(run_id, second), NOW) is True
    assert db.state.run_tracking[run_id] == {"opened": 2}
    assert first not in db.state.soft_streaks  # the mailbox works
    # a forged token, or one whose run is not the delivery's, counts nothing
    assert await tracker.open(open_token(run_id, first)[:-2] + "xx", NOW) is False
    assert await tracker.open(open_token(run_id + 100, first), NOW) is False
    assert db.state.run_tracking[run_id] == {"opened": 2}


async def test_a_click_leads_to_the_runs_own_link_and_is_counted_at_the_flush(
    db: MemoryDatabase,
) -> None:
    _, run_id, (first, second) = await a_sent_run(db)
    tracker = tracking.Tracker(db.uow_factory, URLS)
    later = SENT + timedelta(minutes=5)
    assert await tracker.click(click_token(run_id, first, 1), later) == LINKS[1]
    assert await tracker.click(click_token(run_id, first, 1), later) == LINKS[1]
    assert await tracker.click(click_token(run_id, second, 0), later) == LINKS[0]
    assert db.state.run_tracking == {}  # answered at once, counted later
    assert await tracker.flush() == 3
    assert db.state.run_tracking[run_id] == {"clicks": 3, "clicked": 2}
    assert db.state.link_tracking[(run_id, 1)] == {"clicks": 2, "unique_clicks": 1}
    assert await tracker.flush() == 0
    # the same person again: a click, not a new clicker
    await tracker.click(click_token(run_id, first, 1), later)
    await tracker.flush()
    assert db.state.run_tracking[run_id] == {"clicks": 4, "clicked": 2}
    # a link the run never had, a forged token: nowhere, nothing counted
    assert await tracker.click(click_token(run_id, first, 2), later) is None
    assert await tracker.click("forged", later) is None
    assert await tracker.click(click_token(999, first, 0), later) is None  # no such run
    assert await tracker.flush() == 0


class HeldCommits:
    """A unit-of-work factory whose commits wait until ``release`` (a slow database)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db, self.committing, self.release = db, asyncio.Event(), asyncio.Event()

    def __call__(self) -> MemoryUnitOfWork:
        uow = self.db.uow_factory()
        commit = uow.commit

        async def held() -> None:
            self.committing.set()
            await self.release.wait()
            await commit()

        uow.commit = held  # type: ignore[method-assign]
        return uow


async def test_a_flush_returns_only_when_clicks_another_flush_took_are_counted(
    db: MemoryDatabase,
) -> None:
    """The web server flushes every 0.2 s; a flush called meanwhile (a shutdown, a test)
    must not return while the clicks the other took are still being counted."""
    _, run_id, (first, _) = await a_sent_run(db)
    slow = HeldCommits(db)
    tracker = tracking.Tracker(slow, URLS)
    await tracker.click(click_token(run_id, first, 0), SENT + timedelta(minutes=5))
    background = asyncio.create_task(tracker.flush())
    await asyncio.wait_for(slow.committing.wait(), 5)
    mine = asyncio.create_task(tracker.flush())
    for _ in range(5):  # turns of the loop: without turns, it returned 0 in its first
        await asyncio.sleep(0)
    assert not mine.done()  # it waits for the background flush's count
    slow.release.set()
    assert await mine == 0 and await background == 1
    assert db.state.run_tracking[run_id] == {"clicks": 1, "clicked": 1}


async def test_a_click_right_after_the_delivery_is_a_scanners(db: MemoryDatabase) -> None:
    _, run_id, (first, _) = await a_sent_run(db)
    tracker = tracking.Tracker(db.uow_factory, URLS)
    await tracker.click(click_token(run_id, first, 0), SENT + timedelta(milliseconds=300))
    await tracker.flush()
    assert db.state.run_tracking[run_id] == {"bot_clicks": 1}
    assert db.state.link_tracking[(run_id, 0)] == {"bot_clicks": 1}


async def test_links_carry_utm_tags_when_the_run_had_them_on(db: MemoryDatabase) -> None:
    _, run_id, (first, _) = await a_sent_run(db, options={"utm": True})
    tracker = tracking.Tracker(db.uow_factory, URLS)
    target = await tracker.click(click_token(run_id, first, 0), NOW)
    assert target is not None and target.startswith(LINKS[0] + "?")
    assert "utm_source=mailforge" in target and "utm_medium=email" in target


async def test_a_runs_tracking_lists_every_link_with_its_counts(db: MemoryDatabase) -> None:
    _, run_id, (first, _) = await a_sent_run(db, options={"tracking": False})
    tracker = tracking.Tracker(db.uow_factory, URLS)
    await tracker.click(click_token(run_id, first, 1), NOW)
    await tracker.flush()
    found = await tracking.run_tracking(MemoryEngagementReader(db), run_id)
    assert found is not None and found.tracked is False
    assert found.links == [LinkClicks(0, LINKS[0]), LinkClicks(1, LINKS[1], 1, 1, 0)]
    assert found.engagement == RunEngagement(clicked=1, clicks=1)
    assert await tracking.run_tracking(MemoryEngagementReader(db), 999) is None


# -- the engagement report ---------------------------------------------------------------


async def test_the_engagement_report_is_the_owners(db: MemoryDatabase) -> None:
    mailing_id, run_id, (first, _) = await a_sent_run(db)
    tracker = tracking.Tracker(db.uow_factory, URLS)
    await tracker.open(open_token(run_id, first), NOW)
    report = await engagement_stats.engagement_report(
        db.uow_factory, MemoryEngagementReader(db), MANAGER, mailing_id
    )
    assert (report.run.id, report.channel, report.tracked) == (run_id, Channel.email, True)
    assert report.engagement == RunEngagement(opened=1) and report.open_rate == 50.0
    assert [link.url for link in report.links] == LINKS
    assert (
        await engagement_stats.run_engagement(MemoryEngagementReader(db), run_id)
        == report.engagement
    )
    with pytest.raises(NotFound) as missing:
        await engagement_stats.engagement_report(
            db.uow_factory, MemoryEngagementReader(db), OTHER, mailing_id
        )
    assert missing.value.key == "mailings-not-found"
    other_mailing, _, _ = await a_sent_run(db)
    with pytest.raises(NotFound) as missing:  # a run of another mailing
        await engagement_stats.engagement_report(
            db.uow_factory, MemoryEngagementReader(db), MANAGER, other_mailing, run_id
        )
    assert missing.value.key == "stats-run-not-found"


# -- bounces -----------------------------------------------------------------------------


def bounce(key: str, kind: BounceKind, delivery_id: int | None, reason: str = "") -> BounceReport:
    return BounceReport(key, kind, delivery_id, "5.1.1", reason)


async def subscribed(db: MemoryDatabase) -> None:
    """An event webhook that wants bounces and unsubscriptions."""
    async with db.uow_factory() as uow:
        events = frozenset({EventType.delivery_bounced, EventType.recipient_unsubscribed})
        await uow.webhooks.add(Endpoint("https://hook.example", "s", events, MANAGER))
        await uow.commit()


def told(db: MemoryDatabase) -> list[EventType]:
    return [item.event_type for item in db.outbox.values()]


async def test_a_hard_bounce_refuses_the_delivery_and_suppresses_once(db: MemoryDatabase) -> None:
    _, run_id, (first, _) = await a_sent_run(db)
    await subscribed(db)
    report = bounce("m1", BounceKind.hard, first, "no such user")
    outcome = await bounces.apply_bounce(db.uow_factory, report, NOW, soft_limit=3)
    assert outcome == bounces.BounceOutcome(BounceKind.hard, counted=True, suppressed=True)
    assert db.deliveries[first].status is DeliveryStatus.refused
    assert db.state.delivery_errors[first] == "bounce: no such user"
    assert db.runs[run_id].totals == RunTotals(delivered=1, refused=1)
    assert db.addresses[first].refused_at == NOW
    assert db.state.run_tracking[run_id] == {"bounced": 1}
    assert told(db) == [EventType.delivery_bounced]
    # the same message read again after a restart changes nothing
    again = await bounces.apply_bounce(db.uow_factory, report, NOW, soft_limit=3)
    assert again == bounces.BounceOutcome(BounceKind.hard, counted=False)
    # another message about it: still suppressed, not counted twice
    await bounces.apply_bounce(
        db.uow_factory, bounce("m2", BounceKind.hard, first), NOW, soft_limit=3
    )
    assert db.runs[run_id].totals == RunTotals(delivered=1, refused=1)
    assert db.state.run_tracking[run_id] == {"bounced": 1}
    assert told(db) == [EventType.delivery_bounced]


async def three_runs_to_one_address(
    db: MemoryDatabase,
) -> tuple[int, list[tuple[int, int, list[int]]]]:
    """Three sent runs, each delivered to the same address."""
    runs = [await a_sent_run(db, recipients=1) for _ in range(3)]
    address_id = runs[0][2][0]
    for _, run_id, (delivery_id,) in runs:
        db.state.deliveries[delivery_id] = DeliveryRef(
            delivery_id, run_id, address_id, DeliveryStatus.delivered, SENT
        )
    return address_id, runs


async def test_soft_bounces_suppress_after_the_limit_in_a_row(db: MemoryDatabase) -> None:
    address_id, runs = await three_runs_to_one_address(db)
    outcomes = []
    for n, (_, run_id, (delivery_id,)) in enumerate(runs):
        report = bounce(f"s{n}", BounceKind.soft, delivery_id, "mailbox full")
        outcomes.append(await bounces.apply_bounce(db.uow_factory, report, NOW, soft_limit=2))
        assert db.deliveries[delivery_id].status is DeliveryStatus.delivered  # kept
        assert db.state.delivery_errors[delivery_id] == "soft bounce: mailbox full"
        assert db.state.run_tracking[run_id] == {"soft_bounced": 1}
        if n == 0:  # a second report about the same run counts nothing more
            later = bounce("s0b", BounceKind.soft, delivery_id)
            await bounces.apply_bounce(db.uow_factory, later, NOW, soft_limit=2)
            assert db.state.soft_streaks[address_id] == SoftStreak(1, run_id)
            assert db.state.run_tracking[run_id] == {"soft_bounced": 1}
    assert [o.suppressed for o in outcomes] == [False, True, True]
    assert db.addresses[address_id].refused_at == NOW


async def test_a_mail_that_got_through_starts_the_soft_count_again(db: MemoryDatabase) -> None:
    address_id, runs = await three_runs_to_one_address(db)
    first, last = runs[0][2][0], runs[2][2][0]  # the middle run got through
    await bounces.apply_bounce(
        db.uow_factory, bounce("a", BounceKind.soft, first), NOW, soft_limit=2
    )
    outcome = await bounces.apply_bounce(
        db.uow_factory, bounce("b", BounceKind.soft, last), NOW, soft_limit=2
    )
    assert not outcome.suppressed and db.state.soft_streaks[address_id] == SoftStreak(
        1, runs[2][1]
    )
    assert db.addresses[address_id].refused_at is None


async def test_a_complaint_unsubscribes_and_is_counted_once(db: MemoryDatabase) -> None:
    _, run_id, (first, _) = await a_sent_run(db)
    await subscribed(db)
    for key in ("c1", "c2"):
        outcome = await bounces.apply_bounce(
            db.uow_factory, bounce(key, BounceKind.complaint, first), NOW, soft_limit=3
        )
        assert outcome == bounces.BounceOutcome(BounceKind.complaint, counted=True)
    assert db.addresses[first].unsubscribed_at == NOW and db.addresses[first].refused_at is None
    assert db.state.run_tracking[run_id] == {"complained": 1}
    assert told(db) == [EventType.recipient_unsubscribed]
    assert db.deliveries[first].status is DeliveryStatus.delivered


async def test_unusable_messages_are_recorded_and_nothing_else(db: MemoryDatabase) -> None:
    _, run_id, (first, _) = await a_sent_run(db)
    await subscribed(db)
    cases = [
        (bounce("u1", BounceKind.hard, 999), BounceKind.unknown),  # a delivery long gone
        (bounce("u2", BounceKind.soft, None), BounceKind.unknown),
        (bounce("u3", BounceKind.malformed, None), BounceKind.malformed),
        (bounce("u4", BounceKind.not_bounce, first), BounceKind.not_bounce),
    ]
    for report, kind in cases:
        outcome = await bounces.apply_bounce(db.uow_factory, report, NOW, soft_limit=1)
        assert outcome == bounces.BounceOutcome(kind, counted=True)
        assert db.state.bounces[report.key].kind is kind
    assert db.state.run_tracking == {} and db.state.delivery_errors == {}
    assert not any(a.is_suppressed for a in db.addresses.values())
    assert db.runs[run_id].totals == RunTotals(delivered=2)
    assert db.outbox == {}
