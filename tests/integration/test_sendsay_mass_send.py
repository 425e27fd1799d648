"""The Sendsay mass send on both backends, without the bot: the real queue, the real use
case and adapter, the fake Sendsay over HTTP; and a worker killed with SIGKILL mid-poll.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import RetryPolicy
from domain.mailings import Channel, Mailing
from domain.mass_send import MassSendPhase
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import launch, roles
from domain.usecases.mass_send import UNCERTAIN, MassSendRunner
from domain.users import Role
from domain.webhooks import Endpoint, EventType
from infrastructure.channels.sendsay_mass import SendsayMassSender
from infrastructure.db import create_engine
from infrastructure.db.mass_send_queue import RUNS, SqlMassSendQueue
from infrastructure.rendering.renderer import JinjaRenderer
from infrastructure.sendsay import SendsayClient
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.sendsay import DONE, NOT_MODERATED, FakeSendsay, Variants
from tests.integration.test_crash_safety import (
    MANAGER,
    _Quiet,
    delivery_statuses,
    fresh_database,
    process_env,
    spawn,
    uow_of,
    wait_completed,
    wait_until,
)

EMAILS = [f"user{n}@example.ru" for n in range(1, 6)]


NAMES = itertools.count(1)  # list and mailing names are unique in the database


async def prepare(
    uow_factory: UnitOfWorkFactory,
    emails: Sequence[str],
    body: str,
    *,
    owner: int = MANAGER,
    subject: str = "News",
    values: Callable[[str], dict[str, str]] | None = None,
) -> int:
    """A manager, a list of ``emails`` (each with ``values(email)``, by default a name from
    its local part) and a draft Sendsay mailing to it; returns the mailing's id."""
    await roles.grant_role(
        uow_factory, _Quiet(), actor_id=None, target_id=owner, role=Role.manager
    )
    n = next(NAMES)
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"Readers {n}", owner))
        assert rlist.id is not None
        ids = []
        for email in emails:
            attributes = values(email) if values else {"name": email.split("@")[0].title()}
            stored = await uow.addresses.upsert(Address(AddressKind.email, email, attributes))
            assert stored.id is not None
            ids.append(stored.id)
        await uow.members.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=owner,
                name=f"Digest {n}",
                channel=Channel.sendsay,
                subject=subject,
                body=body,
                list_ids=[rlist.id],
            )
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


async def launch_mass_send(engine: AsyncEngine, mailing_id: int) -> int:
    run = await launch.launch(
        uow_of(engine),
        SqlMassSendQueue(engine, {Channel.sendsay: 3}),
        JinjaRenderer(),
        actor_id=MANAGER,
        mailing_id=mailing_id,
        available=frozenset({Channel.sendsay}),
    )
    assert run.id is not None
    return run.id


@pytest.fixture
async def sendsay() -> AsyncIterator[FakeSendsay]:
    async with FakeSendsay(account="acme", api_key="k") as fake:
        fake.confirm_sender("n@acme.example")
        yield fake


@asynccontextmanager
async def mass_send_runner(
    engine: AsyncEngine,
    sendsay: FakeSendsay,
    report_wait: timedelta = timedelta(hours=6),
    poll_every: timedelta = timedelta(0),
) -> AsyncIterator[MassSendRunner]:
    client = SendsayClient("acme", "k", base_url=sendsay.base_url)
    yield MassSendRunner(
        queue=SqlMassSendQueue(engine, {Channel.sendsay: 3}),
        channels={
            Channel.sendsay: SendsayMassSender(client, sender="n@acme.example", track_poll=0.01)
        },
        renderer=JinjaRenderer(),
        poll_every=poll_every,
        report_wait=report_wait,
        page_size=2,  # pushes and reports of the 5 recipients go in pages
        policy=RetryPolicy(max_attempts=3),
    )
    await client.aclose()


@pytest.fixture
async def sender(db_engine: AsyncEngine, sendsay: FakeSendsay) -> AsyncIterator[MassSendRunner]:
    async with mass_send_runner(db_engine, sendsay) as made:
        yield made


async def run_until_idle(sender: MassSendRunner, limit: int = 50) -> int:
    steps = 0
    while await sender.run_once():
        steps += 1
        assert steps < limit, "the mass send never settled"
    return steps


async def bulk_state(engine: AsyncEngine, run_id: int) -> object:
    async with engine.connect() as conn:
        return await conn.scalar(select(RUNS.c.bulk_state).where(RUNS.c.id == run_id))


async def test_a_big_run_is_mass_sent_and_recorded_on_both_backends(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    sendsay.deliv_result(EMAILS[0], "-1", "550 unknown user")
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hi {{ email }}")
    run_id = await launch_mass_send(db_engine, mailing_id)
    # Normal workers never see the marked run's rows.
    assert await sender.queue.claim(100, sender.clock.now()) == []

    await run_until_idle(sender)

    assert await delivery_statuses(db_engine, run_id) == {"delivered": 4, "failed": 1}
    assert sendsay.actions().count("issue.send") == 1
    assert sendsay.actions().count("member.import") == 3  # pages of 2, 2 and 1
    # The anketa and its one quest were made once, before the first push.
    assert sendsay.actions().count("anketa.create") == 1
    assert sendsay.actions().count("anketa.quest.add") == 1
    assert list(sendsay.anketas["mailforge"]["quests"]) == ["email"]
    letters = sendsay.mass_issues[0].letters
    assert f"Hi {EMAILS[1]}" in letters[EMAILS[1]]["html"]
    state = await bulk_state(db_engine, run_id)
    assert isinstance(state, dict) and state["phase"] == MassSendPhase.done


async def test_a_job_found_in_sending_fails_as_uncertain_and_is_never_sent_again(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)
    queue = sender.queue
    assert isinstance(queue, SqlMassSendQueue)
    job = await queue.take_mass_send(sender.clock.now(), timedelta(minutes=5))
    assert job is not None and job.run_id == run_id
    await queue.claim_mass_send(run_id, sender.clock.now())
    job.state["phase"] = MassSendPhase.sending.value  # as a worker killed during issue.send
    await queue.save_mass_send(job, None)

    await run_until_idle(sender)

    assert await delivery_statuses(db_engine, run_id) == {"failed": len(EMAILS)}
    assert "issue.send" not in sendsay.actions()
    async with db_engine.connect() as conn:
        errors = set((await conn.execute(text("SELECT last_error FROM deliveries"))).scalars())
    assert errors == {UNCERTAIN}


async def test_a_template_with_logic_is_sent_one_by_one_instead(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    body = "{% if email %}Hi {{ email | upper }}{% endif %}"
    mailing_id = await prepare(uow_of(db_engine), EMAILS, body)
    run_id = await launch_mass_send(db_engine, mailing_id)

    await run_until_idle(sender)

    assert await bulk_state(db_engine, run_id) is None  # back to the normal workers
    claimed = await sender.queue.claim(100, sender.clock.now())
    assert sorted(o.value for o in claimed) == EMAILS
    assert "member.import" not in sendsay.actions()


def polling_the_send(sendsay: FakeSendsay) -> bool:
    actions = sendsay.actions()
    return "issue.send" in actions and "track.get" in actions[actions.index("issue.send") :]


@pytest.mark.slow  # kills a worker process
async def test_a_worker_killed_mid_poll_is_resumed_without_a_second_mass_send(
    tmp_path: Path, sendsay: FakeSendsay
) -> None:
    async for url in fresh_database():
        engine = create_engine(url)
        try:
            mailing_id = await prepare(uow_of(engine), EMAILS, "Hello")
            sendsay.mass_track = ["1"]  # never done while the first worker polls
            async with FakeBotAPI() as api:
                env = process_env(
                    api,
                    url,
                    SENDSAY_ACCOUNT="acme",
                    SENDSAY_API_KEY="k",
                    SENDSAY_API_URL=sendsay.base_url,
                    SENDSAY_FROM="n@acme.example",
                    SENDSAY_BULK_THRESHOLD="3",
                    SENDSAY_POLL_SECONDS="0.05",
                )
                first = await spawn("worker", env, tmp_path, tmp_path / "first.log")
                run_id = await launch_mass_send(engine, mailing_id)
                await wait_until(lambda: polling_the_send(sendsay), 60, "the send polled")
                first.send_signal(signal.SIGKILL)
                await asyncio.wait_for(first.wait(), 30)
                for track in sendsay.tracks.values():
                    track.statuses = deque([DONE])
                second = await spawn("worker", env, tmp_path, tmp_path / "second.log")
                try:
                    run = await wait_completed(engine, run_id, within=60)
                finally:
                    second.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(second.wait(), 30)
            assert sendsay.actions().count("issue.send") == 1
            assert run.totals.delivered == len(EMAILS)
            assert await delivery_statuses(engine, run_id) == {"delivered": len(EMAILS)}
        finally:
            await engine.dispose()


async def test_a_pause_between_the_push_and_the_send_holds_until_resumed(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)
    assert await sender.run_once()  # claims the rows and pushes the members
    assert "member.import" in sendsay.actions() and "issue.send" not in sendsay.actions()
    uow_factory = uow_of(db_engine)
    await launch.set_paused(uow_factory, actor_id=MANAGER, mailing_id=mailing_id, paused=True)

    await run_until_idle(sender)
    assert "issue.send" not in sendsay.actions()

    await launch.set_paused(uow_factory, actor_id=MANAGER, mailing_id=mailing_id, paused=False)
    await run_until_idle(sender)
    assert sendsay.actions().count("issue.send") == 1
    assert await delivery_statuses(db_engine, run_id) == {"delivered": len(EMAILS)}


async def test_a_cancel_before_the_send_leaves_the_rows_unsent(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)
    assert await sender.run_once()  # pushed, not sent
    await launch.cancel(uow_of(db_engine), actor_id=MANAGER, mailing_id=mailing_id)

    await run_until_idle(sender)

    assert "issue.send" not in sendsay.actions()
    assert await delivery_statuses(db_engine, run_id) == {"pending": len(EMAILS)}
    run = await launch.run_state(uow_of(db_engine), run_id)
    assert run is not None and (run.totals.pending, run.totals.sending) == (len(EMAILS), 0)
    assert "group.delete" in sendsay.actions()  # the audience at Sendsay is removed


async def test_once_sent_transient_errors_only_delay_the_report(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)
    # More 503s than the policy's 3 attempts: a sent issue is never failed for them.
    sendsay.fail_next("stat.uni", status=503, retry_after=0.01, times=5)

    for _ in range(200):  # each retry comes due 10 ms after its failure
        await run_until_idle(sender)
        if await delivery_statuses(db_engine, run_id) == {"delivered": len(EMAILS)}:
            break
        await asyncio.sleep(0.02)

    assert await delivery_statuses(db_engine, run_id) == {"delivered": len(EMAILS)}
    assert sendsay.actions().count("issue.send") == 1


async def run_until_all_failed(engine: AsyncEngine, sendsay: FakeSendsay, run_id: int) -> None:
    """Poll every 50 ms with a report deadline of 1 s until every row of the run failed."""
    wait, pace = timedelta(seconds=1), timedelta(seconds=0.05)
    async with mass_send_runner(engine, sendsay, report_wait=wait, poll_every=pace) as sender:
        for _ in range(100):
            await run_until_idle(sender)
            if await delivery_statuses(engine, run_id) == {"failed": len(EMAILS)}:
                return
            await asyncio.sleep(0.05)


async def errors_of(engine: AsyncEngine, run_id: int) -> dict[str, tuple[str, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT a.value, d.status, d.last_error FROM deliveries AS d"
                " JOIN addresses AS a ON a.id = d.address_id WHERE d.run_id = :r"
            ),
            {"r": run_id},
        )
        return {str(value): (str(status), error) for value, status, error in rows}


async def test_recipients_sendsay_left_out_are_closed_from_its_counts_without_waiting(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    sendsay.stop_list(EMAILS[1])
    sendsay.stop_list(EMAILS[2])
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)

    await run_until_idle(sender)  # the report wait is 6 h: nothing waits it out

    rows = await errors_of(db_engine, run_id)
    assert rows[EMAILS[1]] == rows[EMAILS[2]] == ("refused", "sendsay-reason-stoplist")
    assert {rows[e][0] for e in (EMAILS[0], *EMAILS[3:])} == {"delivered"}
    async with uow_of(db_engine)() as uow:
        stopped = await uow.addresses.find(AddressKind.email, EMAILS[1])
    assert stopped is not None and stopped.refused_at is not None  # suppressed here too


async def test_refusals_of_a_mass_send_reach_the_webhook_outbox_with_their_results(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    """Issue 22: a mass send's refusals are told (``delivery.refused``) like a worker's,
    written with the results they tell of (``DeliveryResults.complete``)."""
    uow_factory = uow_of(db_engine)
    async with uow_factory() as uow:
        endpoint = Endpoint("https://hooks.example", "whsec_a", frozenset(EventType), MANAGER)
        await uow.webhooks.add(endpoint)
        await uow.commit()
    sendsay.stop_list(EMAILS[1])
    sendsay.stop_list(EMAILS[3])
    mailing_id = await prepare(uow_factory, EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)

    await run_until_idle(sender)

    rows = await errors_of(db_engine, run_id)
    async with uow_factory() as uow:  # a claim only reads them here: nothing is committed
        claimed = await uow.webhooks.claim(
            sender.clock.now() + timedelta(days=1), timedelta(0), 50
        )
    refused = [
        json.loads(c.item.body)["data"]
        for c in claimed
        if c.item.event_type is EventType.delivery_refused
    ]
    assert sorted((d["recipient"]["address"], d["reason"]) for d in refused) == [
        (EMAILS[1], "sendsay-reason-stoplist"),
        (EMAILS[3], "sendsay-reason-stoplist"),
    ]
    assert {d["run_id"] for d in refused} == {run_id}
    assert {rows[e][0] for e in (EMAILS[1], EMAILS[3])} == {"refused"}
    query = text(
        "SELECT a.value, d.id FROM deliveries AS d"
        " JOIN addresses AS a ON a.id = d.address_id WHERE d.run_id = :r"
    )
    async with db_engine.connect() as conn:
        ids = {str(value): int(i) for value, i in await conn.execute(query, {"r": run_id})}
    assert sorted(d["delivery_id"] for d in refused) == sorted([ids[EMAILS[1]], ids[EMAILS[3]]])


async def test_mixed_reasons_close_the_left_out_with_each_count(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    sendsay.unsubscribe(EMAILS[0])
    sendsay.exclude(EMAILS[1], "issue.lockconfirm")
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)

    await run_until_idle(sender)

    rows = await errors_of(db_engine, run_id)
    mixed = ("failed", "sendsay-reason-unsubscribed ×1; sendsay-reason-unconfirmed ×1")
    assert rows[EMAILS[0]] == rows[EMAILS[1]] == mixed  # which was which is unknown


async def test_a_send_rejected_by_moderation_fails_the_run_with_that_reason(
    db_engine: AsyncEngine, sender: MassSendRunner, sendsay: FakeSendsay
) -> None:
    sendsay.mass_track = ["1", "-5", NOT_MODERATED]
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)

    await run_until_idle(sender)

    rows = await errors_of(db_engine, run_id)
    assert set(rows.values()) == {("failed", "sendsay-reason-moderation: -6")}
    state = await bulk_state(db_engine, run_id)
    assert isinstance(state, dict) and state["problem"] == "sendsay-reason-moderation: -6"


async def test_a_missing_issue_id_is_retried_until_the_report_deadline(
    db_engine: AsyncEngine, sendsay: FakeSendsay
) -> None:
    sendsay.variants = Variants(issue_listed_after=1_000)  # statistics never show it
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)

    await run_until_all_failed(db_engine, sendsay, run_id)

    lookups = [q for q in sendsay.bodies("stat.uni") if q["select"][0] == "issue.id"]
    assert len(lookups) > 3  # more than the policy's 3 attempts: retried, not failed
    rows = await errors_of(db_engine, run_id)
    assert {status for status, _ in rows.values()} == {"failed"}
    assert {error.split(":")[0] for _, error in rows.values() if error} == {
        "sendsay-reason-no-issue"
    }


async def test_a_send_that_never_finishes_fails_at_the_report_deadline(
    db_engine: AsyncEngine, sendsay: FakeSendsay
) -> None:
    sendsay.mass_track = ["-5"]  # on moderation for ever
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_mass_send(db_engine, mailing_id)

    await run_until_all_failed(db_engine, sendsay, run_id)

    rows = await errors_of(db_engine, run_id)
    assert set(rows.values()) == {("failed", "run-reason-not-finished: 1 s")}
