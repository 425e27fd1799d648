"""A bot process killed with SIGKILL mid-run loses nobody: after a restart the run completes,
and the duplicates stay within the documented bound (two batches per dead worker).

Real processes (``python -m bot run``), a real PostgreSQL, the fake Bot API.
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
from domain.ports import UnitOfWorkFactory
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
        await uow.lists.add_members(rlist.id, ids)
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
        "DELIVERY_LEASE_SECONDS": "10",
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
            # Kill in the middle of a batch: part of it reached Telegram, none is recorded.
            await wait_until(
                lambda: api.sent_count() >= 300 and api.sent_count() % BATCH != 0,
                30,
                "300 sends, mid-batch",
            )
            first.kill()  # SIGKILL: no batch is recorded, no cleanup runs
            await first.wait()
        finally:
            if first.returncode is None:
                first.kill()
                await first.wait()
        at_kill = api.sent_count()
        second = await spawn("run", env, tmp_path, log)
        try:
            run = await wait_completed(engine, run_id, within=60)
        finally:
            second.terminate()
            await asyncio.wait_for(second.wait(), 30)
        assert second.returncode == 0, log.read_text()[-3000:]

    per_chat = counts_per_chat(api, chats)
    lost = [chat for chat, n in per_chat.items() if n == 0]
    duplicates = sum(1 for n in per_chat.values() if n > 1)
    print(f"\nsent before SIGKILL: {at_kill}; duplicates after restart: {duplicates}")
    assert lost == []
    tot = run.totals
    assert (tot.pending, tot.sending, tot.failed, tot.refused) == (0, 0, 0, 0)
    assert tot.delivered == len(chats)
    assert await delivery_statuses(engine, run_id) == {"delivered": len(chats)}
    assert max(per_chat.values()) <= 2
    assert duplicates <= 2 * BATCH * WORKERS
    if at_kill % BATCH:  # a half-sent batch was in flight: its sent part went out again
        assert duplicates >= at_kill % BATCH
