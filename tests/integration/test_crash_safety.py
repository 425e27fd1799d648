"""A process killed with SIGKILL mid-run loses nobody: its batches go back to the queue
once its heartbeat has stopped (seconds, not ``DELIVERY_LEASE_SECONDS``, left at its
default of 300 s here), the run completes, and the duplicates stay within the documented
bound (two batches per dead worker).

Real processes (``python -m bot run`` and ``python -m bot worker``), a real PostgreSQL,
the fake Bot API.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.mailings import Channel, Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import MailingRun, RunStatus
from domain.usecases import launch, roles
from domain.users import Role
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.rendering.renderer import JinjaRenderer
from tests.e2e.conftest import TOKEN
from tests.fakes.bot_api import FakeBotAPI
from tests.integration.test_cli import cli_env
from tests.support.db import drop_database, fresh_pg_database

pytestmark = pytest.mark.slow  # kills a bot process mid-run

MANAGER = 4242
# DELIVERY_BATCH_SIZE at the sizer's floor: every batch is exactly BATCH, so the sends at
# the kill tell how much of the batch in flight had gone out.
BATCH = 20
WORKERS = 1


class _Quiet:
    async def access_changed(self, user: object) -> None:
        return None


async def fresh_database() -> AsyncIterator[str]:
    url = await fresh_pg_database()
    try:
        await upgrade(url)
        yield url
    finally:
        await drop_database(url)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async for url in fresh_database():
        yield url


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(pg_url)
    yield eng
    await eng.dispose()


def uow_of(engine: AsyncEngine) -> UnitOfWorkFactory:
    return make_uow_factory(create_session_factory(engine))


async def prepare_mailing(uow_factory: UnitOfWorkFactory, chats: Sequence[int]) -> int:
    """A manager, a list of Telegram chats and a draft mailing to it; returns its id."""
    await roles.grant_role(
        uow_factory, _Quiet(), actor_id=None, target_id=MANAGER, role=Role.manager
    )
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Crowd", MANAGER))
        assert rlist.id is not None
        ids: list[int] = []
        for chat in chats:
            address = await uow.addresses.upsert(Address(AddressKind.telegram, str(chat)))
            assert address.id is not None
            ids.append(address.id)
        await uow.members.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=MANAGER,
                name="Crowd news",
                channel=Channel.telegram,
                body="Hello <b>crowd</b>",
                list_ids=[rlist.id],
            )
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


async def launch_now(engine: AsyncEngine, mailing_id: int) -> int:
    run = await launch.launch(
        uow_of(engine),
        SqlDeliveryQueue(engine),
        JinjaRenderer(),
        actor_id=MANAGER,
        mailing_id=mailing_id,
        available=frozenset({Channel.telegram}),
    )
    assert run.id is not None
    return run.id


async def run_of(engine: AsyncEngine, run_id: int) -> MailingRun:
    async with uow_of(engine)() as uow:
        run = await uow.runs.get(run_id)
    assert run is not None
    return run


async def wait_completed(engine: AsyncEngine, run_id: int, within: float) -> MailingRun:
    deadline = time.monotonic() + within
    while True:
        run = await run_of(engine, run_id)
        if run.status is RunStatus.completed:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} not completed in {within} s: {run}")
        await asyncio.sleep(0.2)


async def delivery_statuses(engine: AsyncEngine, run_id: int) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT status, count(*) FROM deliveries WHERE run_id = :r GROUP BY status"),
            {"r": run_id},
        )
        return {str(status): int(count) for status, count in rows}


def process_env(api: FakeBotAPI, database_url: str, **extra: str) -> dict[str, str]:
    settings = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": database_url,
        "WORKERS": str(WORKERS),
        "DELIVERY_BATCH_SIZE": str(BATCH),
        "TELEGRAM_RATE": "1000",
        "WEB_PORT": "0",
    }
    return cli_env(**{**settings, **extra})


async def spawn(
    command: str, env: dict[str, str], cwd: Path, log: Path
) -> asyncio.subprocess.Process:
    """``python -m bot <command>``; output goes to a file (a full pipe would stall it)."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", command, env=env, cwd=cwd, stdout=out, stderr=out
        )


async def wait_until(predicate: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def counts_per_chat(api: FakeBotAPI, chats: Sequence[int]) -> dict[int, int]:
    return {chat: api.sent_count("sendMessage", chat) for chat in chats}


async def assert_nobody_lost(
    engine: AsyncEngine,
    api: FakeBotAPI,
    chats: Sequence[int],
    run: MailingRun,
    at_kill: int | None,
) -> int:
    """Everyone got the message, the run's totals say so, duplicates are within the bound
    (``at_kill``: the sends at the kill, when the dead process was the only sender);
    returns how many chats got it twice."""
    per_chat = counts_per_chat(api, chats)
    lost = [chat for chat, n in per_chat.items() if n == 0]
    duplicates = sum(1 for n in per_chat.values() if n > 1)
    assert lost == []
    tot = run.totals
    assert (tot.pending, tot.sending, tot.failed, tot.refused) == (0, 0, 0, 0)
    assert tot.delivered == len(chats)
    assert run.id is not None
    assert await delivery_statuses(engine, run.id) == {"delivered": len(chats)}
    assert max(per_chat.values()) <= 2
    assert duplicates <= 2 * BATCH * WORKERS
    if at_kill is not None and at_kill % BATCH:  # a half-sent batch: its sent part went again
        assert duplicates >= at_kill % BATCH
    return duplicates


async def kill_mid_batch(process: asyncio.subprocess.Process, api: FakeBotAPI, sends: int) -> None:
    """SIGKILL once ``sends`` went out, in the middle of a batch: part of it reached
    Telegram, none of it is recorded, no clean-up runs."""
    await wait_until(
        lambda: api.sent_count() >= sends and api.sent_count() % BATCH != 0,
        30,
        f"{sends} sends, mid-batch",
    )
    await stopped(process)


async def stopped(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


async def terminated(process: asyncio.subprocess.Process, log: Path) -> None:
    """SIGTERM, and a clean exit."""
    process.terminate()
    await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0, tail(log)


def tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def test_a_killed_worker_process_is_replaced_within_its_heartbeat_not_its_lease(
    tmp_path: Path, pg_url: str, engine: AsyncEngine
) -> None:
    chats = list(range(600_001, 601_001))  # 1,000 recipients
    mailing_id = await prepare_mailing(uow_of(engine), chats)
    async with FakeBotAPI() as api:
        api.delay = 0.005
        env = process_env(api, pg_url, WORKER_HEARTBEAT_SECONDS="1")
        log = tmp_path / "worker.log"
        doomed = await spawn("worker", env, tmp_path, log)
        try:
            await wait_until(lambda: "worker runs" in tail(log), 30, "the worker")
            run_id = await launch_now(engine, mailing_id)
            await kill_mid_batch(doomed, api, 200)
        finally:
            await stopped(doomed)
        at_kill, killed = api.sent_count(), time.monotonic()
        # Another worker starts while the dead one's last beat is still fresh: the batch
        # it held comes back at a beat once the dead one has been silent for 3 s. The
        # lease is 300 s: nothing else could bring it back within the minute waited here.
        survivor = await spawn("worker", env, tmp_path, log)
        try:
            run = await wait_completed(engine, run_id, within=60)
            took = time.monotonic() - killed
        finally:
            await terminated(survivor, log)
    duplicates = await assert_nobody_lost(engine, api, chats, run, at_kill)
    print(f"\nworker killed at {at_kill} sent; run done {took:.1f} s later; twice: {duplicates}")


async def test_a_killed_bot_loses_nobody_and_doubles_at_most_one_batch(
    tmp_path: Path, pg_url: str, engine: AsyncEngine
) -> None:
    chats = list(range(500_001, 501_501))  # 1,500 recipients
    mailing_id = await prepare_mailing(uow_of(engine), chats)
    async with FakeBotAPI() as api:
        api.delay = 0.005  # latency per send, so the run lasts a few seconds
        env = process_env(api, pg_url)
        log = tmp_path / "bot.log"
        first = await spawn("run", env, tmp_path, log)
        try:
            await wait_until(lambda: api.request_count("getUpdates") > 0, 30, "the bot polling")
            run_id = await launch_now(engine, mailing_id)
            await kill_mid_batch(first, api, 300)
        finally:
            await stopped(first)
        at_kill, killed = api.sent_count(), time.monotonic()
        # Restarted at once: the dead process's heartbeat is still fresh, so its batch
        # comes back at the new process's first beat after the old one's silence (the
        # default 5 s heartbeat: within 20 s), not after the 300-s lease.
        second = await spawn("run", env, tmp_path, log)
        try:
            run = await wait_completed(engine, run_id, within=60)
            took = time.monotonic() - killed
        finally:
            await terminated(second, log)
    duplicates = await assert_nobody_lost(engine, api, chats, run, at_kill)
    print(f"\nbot killed at {at_kill} sent; run done {took:.1f} s after; twice: {duplicates}")
