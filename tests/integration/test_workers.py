"""Scale-out: two ``mailforge worker`` processes share one PostgreSQL queue and deliver a
run together, each recipient exactly once (claims use ``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db import create_engine
from tests.fakes.bot_api import FakeBotAPI
from tests.integration.test_crash_safety import (
    counts_per_chat,
    delivery_statuses,
    fresh_database,
    launch_now,
    prepare_mailing,
    process_env,
    spawn,
    uow_of,
    wait_completed,
    wait_until,
)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async for url in fresh_database():
        yield url


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(pg_url)
    yield eng
    await eng.dispose()


def ready(log: Path) -> bool:
    return log.exists() and "MailForge worker runs 1 worker" in log.read_text()


@pytest.mark.slow  # two worker processes
async def test_two_worker_processes_deliver_each_recipient_exactly_once(
    tmp_path: Path, pg_url: str, engine: AsyncEngine
) -> None:
    chats = list(range(600_001, 602_001))  # 2,000 recipients
    mailing_id = await prepare_mailing(uow_of(engine), chats)
    async with FakeBotAPI() as api:
        api.delay = 0.002
        env = process_env(api, pg_url, DELIVERY_LEASE_SECONDS="300")
        logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
        procs = [await spawn("worker", env, tmp_path, log) for log in logs]
        try:
            await wait_until(
                lambda: all(ready(log) for log in logs),
                30,
                "both workers ready",
            )
            run_id = await launch_now(engine, mailing_id)
            run = await wait_completed(engine, run_id, within=60)
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(proc.wait(), 30) for proc in procs]
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    assert all("MailForge worker stopped" in log.read_text() for log in logs)
    per_chat = counts_per_chat(api, chats)
    assert sorted(set(per_chat.values())) == [1]  # nobody lost, nobody doubled
    assert api.sent_count() == len(chats)
    tot = run.totals
    assert (tot.delivered, tot.pending, tot.sending, tot.failed, tot.refused) == (
        len(chats),
        0,
        0,
        0,
        0,
    )
    assert await delivery_statuses(engine, run_id) == {"delivered": len(chats)}
