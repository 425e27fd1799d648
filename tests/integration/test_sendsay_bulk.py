"""The Sendsay mass send on both backends, without the bot: the real queue, the real use
case and adapter, the fake Sendsay over HTTP; and a worker killed with SIGKILL mid-poll.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.bulk import BulkPhase
from domain.delivery import RetryPolicy
from domain.mailings import Channel, Mailing
from domain.ports import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import launch, roles
from domain.usecases.bulk_send import UNCERTAIN, BulkSender
from domain.users import Role
from infrastructure.channels.sendsay_mass import SendsayMassSender
from infrastructure.db import create_engine
from infrastructure.db.bulk_queue import RUNS, SqlBulkQueue
from infrastructure.rendering.renderer import JinjaRenderer
from infrastructure.sendsay import SendsayClient
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.sendsay import FakeSendsay
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


async def prepare(
    uow_factory: UnitOfWorkFactory,
    emails: Sequence[str],
    body: str,
    *,
    owner: int = MANAGER,
    subject: str = "News",
) -> int:
    """A manager, a list of ``emails`` (each named after its local part) and a draft
    Sendsay mailing to it; returns the mailing's id."""
    await roles.grant_role(
        uow_factory, _Quiet(), actor_id=None, target_id=owner, role=Role.manager
    )
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Readers", owner))
        assert rlist.id is not None
        ids = []
        for email in emails:
            named = Address(AddressKind.email, email, {"name": email.split("@")[0].title()})
            stored = await uow.addresses.upsert(named)
            assert stored.id is not None
            ids.append(stored.id)
        await uow.lists.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=owner,
                name="Digest",
                channel=Channel.sendsay,
                subject=subject,
                body=body,
                list_ids=[rlist.id],
            )
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


async def launch_bulk(engine: AsyncEngine, mailing_id: int) -> int:
    run = await launch.launch(
        uow_of(engine),
        SqlBulkQueue(engine, {Channel.sendsay: 3}),
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
        yield fake


@pytest.fixture
async def sender(db_engine: AsyncEngine, sendsay: FakeSendsay) -> AsyncIterator[BulkSender]:
    client = SendsayClient("acme", "k", base_url=sendsay.base_url)
    yield BulkSender(
        queue=SqlBulkQueue(db_engine, {Channel.sendsay: 3}),
        channels={Channel.sendsay: SendsayMassSender(client, sender="n@acme.example")},
        renderer=JinjaRenderer(),
        poll_every=timedelta(0),
        page_size=2,  # pushes and reports of the 5 recipients go in pages
        policy=RetryPolicy(max_attempts=3),
    )
    await client.aclose()


async def run_until_idle(sender: BulkSender, limit: int = 50) -> int:
    steps = 0
    while await sender.run_once():
        steps += 1
        assert steps < limit, "the mass send never settled"
    return steps


async def bulk_state(engine: AsyncEngine, run_id: int) -> object:
    async with engine.connect() as conn:
        return await conn.scalar(select(RUNS.c.bulk_state).where(RUNS.c.id == run_id))


async def test_a_big_run_is_mass_sent_and_recorded_on_both_backends(
    db_engine: AsyncEngine, sender: BulkSender, sendsay: FakeSendsay
) -> None:
    sendsay.deliv_result(EMAILS[0], "-1", "550 unknown user")
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hi {{ email }}")
    run_id = await launch_bulk(db_engine, mailing_id)
    # Normal workers never see the marked run's rows.
    assert await sender.queue.claim(100, sender.clock.now()) == []

    await run_until_idle(sender)

    # The receiving server's 550 is a hard bounce: refused.
    assert await delivery_statuses(db_engine, run_id) == {"delivered": 4, "refused": 1}
    assert sendsay.actions().count("issue.send") == 1
    assert sendsay.actions().count("member.import") == 3  # pages of 2, 2 and 1
    # The anketa and its one quest were made once, before the first push.
    assert sendsay.actions().count("anketa.create") == 1
    assert sendsay.actions().count("anketa.quest.add") == 1
    assert list(sendsay.anketas["mailforge"]) == ["email"]
    letters = sendsay.mass_issues[0].letters
    assert f"Hi {EMAILS[1]}" in letters[EMAILS[1]]["html"]
    state = await bulk_state(db_engine, run_id)
    assert isinstance(state, dict) and state["phase"] == BulkPhase.done


async def test_a_job_found_in_sending_fails_as_uncertain_and_is_never_sent_again(
    db_engine: AsyncEngine, sender: BulkSender, sendsay: FakeSendsay
) -> None:
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_bulk(db_engine, mailing_id)
    queue = sender.queue
    assert isinstance(queue, SqlBulkQueue)
    job = await queue.take_bulk(sender.clock.now(), timedelta(minutes=5))
    assert job is not None and job.run_id == run_id
    await queue.claim_bulk(run_id, sender.clock.now())
    job.state["phase"] = BulkPhase.sending.value  # as a worker killed during issue.send
    await queue.save_bulk(job, None)

    await run_until_idle(sender)

    assert await delivery_statuses(db_engine, run_id) == {"failed": len(EMAILS)}
    assert "issue.send" not in sendsay.actions()
    async with db_engine.connect() as conn:
        errors = set((await conn.execute(text("SELECT last_error FROM deliveries"))).scalars())
    assert errors == {UNCERTAIN}


async def test_a_template_with_logic_is_sent_one_by_one_instead(
    db_engine: AsyncEngine, sender: BulkSender, sendsay: FakeSendsay
) -> None:
    body = "{% if email %}Hi {{ email | upper }}{% endif %}"
    mailing_id = await prepare(uow_of(db_engine), EMAILS, body)
    run_id = await launch_bulk(db_engine, mailing_id)

    await run_until_idle(sender)

    assert await bulk_state(db_engine, run_id) is None  # back to the normal workers
    claimed = await sender.queue.claim(100, sender.clock.now())
    assert sorted(o.value for o in claimed) == EMAILS
    assert "member.import" not in sendsay.actions()


def polling_the_send(sendsay: FakeSendsay) -> bool:
    actions = sendsay.actions()
    return "issue.send" in actions and "track.get" in actions[actions.index("issue.send") :]


async def test_a_worker_killed_mid_poll_is_resumed_without_a_second_mass_send(
    tmp_path: Path, sendsay: FakeSendsay
) -> None:
    async for url in fresh_database():
        engine = create_engine(url)
        try:
            mailing_id = await prepare(uow_of(engine), EMAILS, "Hello")
            sendsay.mass_track = [1]  # never done while the first worker polls
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
                run_id = await launch_bulk(engine, mailing_id)
                await wait_until(lambda: polling_the_send(sendsay), 60, "the send polled")
                first.send_signal(signal.SIGKILL)
                await asyncio.wait_for(first.wait(), 30)
                for statuses in sendsay.tracks.values():
                    statuses[0] = -1
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
    db_engine: AsyncEngine, sender: BulkSender, sendsay: FakeSendsay
) -> None:
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_bulk(db_engine, mailing_id)
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
    db_engine: AsyncEngine, sender: BulkSender, sendsay: FakeSendsay
) -> None:
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_bulk(db_engine, mailing_id)
    assert await sender.run_once()  # pushed, not sent
    await launch.cancel(uow_of(db_engine), actor_id=MANAGER, mailing_id=mailing_id)

    await run_until_idle(sender)

    assert "issue.send" not in sendsay.actions()
    assert await delivery_statuses(db_engine, run_id) == {"pending": len(EMAILS)}
    run = await launch.run_state(uow_of(db_engine), run_id)
    assert run is not None and (run.totals.pending, run.totals.sending) == (len(EMAILS), 0)
    assert "group.delete" in sendsay.actions()  # the audience at Sendsay is removed


async def test_once_sent_transient_errors_only_delay_the_report(
    db_engine: AsyncEngine, sender: BulkSender, sendsay: FakeSendsay
) -> None:
    mailing_id = await prepare(uow_of(db_engine), EMAILS, "Hello")
    run_id = await launch_bulk(db_engine, mailing_id)
    # More 503s than the policy's 3 attempts: a sent issue is never failed for them.
    sendsay.fail_next("stat.uni", status=503, retry_after=0.01, times=5)

    for _ in range(200):  # each retry comes due 10 ms after its failure
        await run_until_idle(sender)
        if await delivery_statuses(db_engine, run_id) == {"delivered": len(EMAILS)}:
            break
        await asyncio.sleep(0.02)

    assert await delivery_statuses(db_engine, run_id) == {"delivered": len(EMAILS)}
    assert sendsay.actions().count("issue.send") == 1
