"""A recall at Telegram's free 30/s keeps the limit and loses nothing when its worker
process is killed with SIGKILL mid-batch: another worker resumes it, every copy ends up
deleted and counted once (a copy deleted twice is "already gone", not a failure). A fix
of the text (edits of every copy) does the same: paced at 30/s, every copy edited.

Real processes (``python -m bot worker``), a real PostgreSQL, the fake Bot API enforcing
30 sends/s (deleteMessage counted like a send) with 429 beyond.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.runs import FollowUpStart, MailingRun
from domain.usecases import follow_ups
from domain.usecases.follow_ups import EditOrder
from infrastructure.db import create_engine
from infrastructure.db.follow_ups import SqlFollowUps
from infrastructure.rendering.renderer import JinjaRenderer
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.bot_api_limits import busiest_window
from tests.integration.test_crash_safety import (
    BATCH,
    MANAGER,
    delivery_statuses,
    fresh_database,
    launch_now,
    prepare_mailing,
    process_env,
    spawn,
    stopped,
    tail,
    terminated,
    uow_of,
    wait_completed,
    wait_until,
)

pytestmark = pytest.mark.slow  # real processes, a kill -9, ~20 s at 30 messages/s

CHATS = list(range(700_001, 700_241))  # 240 recipients: 8 s at 30/s


@pytest.fixture
async def database() -> AsyncIterator[tuple[AsyncEngine, str]]:
    async for url in fresh_database():
        eng = create_engine(url)
        yield eng, url
        await eng.dispose()


@dataclass
class Killed:
    """A follow-up whose worker was killed mid-batch and which a second worker finished."""

    started: FollowUpStart
    done: MailingRun
    at_kill: int  # requests of the follow-up's kind the fake had seen at the kill
    took: float  # seconds from the kill to the run's end


async def kill_mid_follow_up(
    tmp_path: Path,
    database: tuple[AsyncEngine, str],
    api: FakeBotAPI,
    start: Callable[[AsyncEngine, int, int], Awaitable[FollowUpStart]],
    sent: Callable[[], int],
    *,
    before: Callable[[], None],
) -> Killed:
    """Sends a mailing to ``CHATS``, then ``start``s a follow-up of that run (``before`` it,
    the fake is set up), kills its worker with SIGKILL once ``sent()`` is past 100 and
    mid-batch, and lets a new worker finish it."""
    engine, pg_url = database
    mailing_id = await prepare_mailing(uow_of(engine), CHATS)
    env = process_env(api, pg_url, WORKER_HEARTBEAT_SECONDS="1", TELEGRAM_RATE="30")
    log = tmp_path / "worker.log"
    sender = await spawn("worker", env, tmp_path, log)
    try:
        await wait_until(lambda: "worker runs" in tail(log), 30, "the worker")
        source = await wait_completed(engine, await launch_now(engine, mailing_id), 60)
    finally:
        await terminated(sender, log)
    assert source.id is not None and source.totals.delivered == len(CHATS)

    before()
    doomed = await spawn("worker", env, tmp_path, log)
    try:
        await wait_until(lambda: "worker runs" in tail(log), 30, "the worker")
        started = await start(engine, mailing_id, source.id)
        await wait_until(lambda: sent() >= 100 and sent() % BATCH != 0, 30, "mid-batch")
    finally:
        await stopped(doomed)
    at_kill, killed = sent(), time.monotonic()
    survivor = await spawn("worker", env, tmp_path, log)
    try:
        done = await wait_completed(engine, started.run_id, within=60)
        took = time.monotonic() - killed
    finally:
        await terminated(survivor, log)
    return Killed(started, done, at_kill, took)


def deletes(api: FakeBotAPI) -> int:
    return api.request_count("deleteMessage")


async def test_a_recall_killed_mid_batch_keeps_the_limit_and_loses_nothing(
    tmp_path: Path, database: tuple[AsyncEngine, str]
) -> None:
    async def recall_it(engine: AsyncEngine, mailing_id: int, run_id: int) -> FollowUpStart:
        return await follow_ups.recall(
            uow_of(engine), SqlFollowUps(engine), actor_id=MANAGER, mailing_id=mailing_id,
            run_id=run_id,
        )  # fmt: skip

    async with FakeBotAPI() as api:

        def from_here_on_429_past_30() -> None:
            api.set_rate_limit(30)  # from here on Telegram answers 429 past 30/s
            api.send_times.clear()
            api.send_arrivals.clear()

        run = await kill_mid_follow_up(
            tmp_path, database, api, recall_it, lambda: deletes(api),
            before=from_here_on_429_past_30,
        )  # fmt: skip
    engine, _ = database
    started, recall, at_kill, took = run.started, run.done, run.at_kill, run.took

    copies = [m for chat in CHATS for m in api.messages(chat)]
    assert len(copies) == len(CHATS) and all(m.deleted for m in copies)
    tot = recall.totals
    assert (tot.delivered, tot.failed, tot.refused, tot.pending) == (len(CHATS), 0, 0, 0)
    assert await delivery_statuses(engine, started.run_id) == {"delivered": len(CHATS)}
    report = api.rate_report()
    assert report["busiest_second"] <= 30, report
    assert report["violations"] == 0, report
    again = deletes(api) - len(CHATS)
    assert 0 <= again <= 2 * BATCH
    print(
        f"\nrecall killed at {at_kill} deletes; done {took:.1f} s later; deleted twice:"
        f" {again}; busiest second {report['busiest_second']}, 429s {report['throttled']}"
    )


def edits(api: FakeBotAPI) -> int:
    return api.request_count("editMessageText")


async def test_a_fix_of_the_text_killed_mid_batch_keeps_the_limit_and_edits_every_copy(
    tmp_path: Path, database: tuple[AsyncEngine, str]
) -> None:
    async def fix_it(engine: AsyncEngine, mailing_id: int, run_id: int) -> FollowUpStart:
        return await follow_ups.edit(
            uow_of(engine),
            SqlFollowUps(engine),
            JinjaRenderer(),
            actor_id=MANAGER,
            order=EditOrder(mailing_id, run_id, "Fixed: the sale ends on <b>Friday</b>"),
            example={},
        )

    async with FakeBotAPI() as api:
        run = await kill_mid_follow_up(
            tmp_path, database, api, fix_it, lambda: edits(api), before=api.edit_times.clear
        )
    engine, _ = database
    started, fixed, at_kill, took = run.started, run.done, run.at_kill, run.took

    copies = [m for chat in CHATS for m in api.messages(chat)]
    assert len(copies) == len(CHATS)
    assert all(m.text == "Fixed: the sale ends on Friday" for m in copies)
    tot = fixed.totals
    assert (tot.delivered, tot.failed, tot.refused, tot.pending) == (len(CHATS), 0, 0, 0)
    assert await delivery_statuses(engine, started.run_id) == {"delivered": len(CHATS)}
    # Edits are not refused past 30/s (Telegram does not say they count), so the fake only
    # times them as they arrive: never more than 30 in any second, the restart included
    # (the survivor does not know what the killed process sent in its last second).
    busiest = busiest_window(sorted(api.edit_times))
    assert busiest <= 30, busiest
    again = edits(api) - len(CHATS)
    assert 0 <= again <= 2 * BATCH
    print(
        f"\nfix killed at {at_kill} edits; done {took:.1f} s later; edited twice: {again};"
        f" busiest second {busiest}"
    )
