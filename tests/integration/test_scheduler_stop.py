"""Stopping the bot while a periodic job or a schedule tick is mid-query ends them quietly.

Before: APScheduler cancelled the running job on shutdown and logged "Error running job"
with a CancelledError traceback, so a SIGTERM at the wrong moment printed a traceback
(``test_cli``'s clean-stop test failed one time in many).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.app import App, build
from bot.scheduler import PeriodicJob, ScheduleRunner
from bot.settings import load_settings
from tests.e2e.conftest import TOKEN


def blocking_job(started: asyncio.Event, finished: asyncio.Event) -> PeriodicJob:
    async def slow_housekeeping() -> None:
        started.set()
        await asyncio.sleep(3600)  # a long query, cut short
        finished.set()

    return PeriodicJob("slow-housekeeping", slow_housekeeping, timedelta(hours=1), timedelta(0))


def runner_of(app: App, jobs: list[PeriodicJob]) -> ScheduleRunner:
    return ScheduleRunner(
        app.scheduler.uow_factory,
        app.scheduler.launcher,
        app.scheduler.calculator,
        tick_seconds=3600,
        grace=timedelta(minutes=5),
        jobs=jobs,
    )


async def test_a_job_running_when_the_scheduler_stops_ends_without_a_traceback(
    migrated_sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = build(load_settings(bot_token=TOKEN, database_url=migrated_sqlite_url))
    started, finished = asyncio.Event(), asyncio.Event()
    runner = runner_of(app, [blocking_job(started, finished)])
    caplog.set_level(logging.INFO)
    try:
        runner.start()
        await asyncio.wait_for(started.wait(), 10)
        runner.stop()
        for _ in range(20):  # the cancelled task and APScheduler's callback run
            await asyncio.sleep(0.01)
    finally:
        await app.close()
    assert not finished.is_set()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "Job slow-housekeeping was stopped with the bot" in caplog.text


async def test_a_cancellation_that_is_not_a_stop_still_propagates(
    migrated_sqlite_url: str,
) -> None:
    app = build(load_settings(bot_token=TOKEN, database_url=migrated_sqlite_url))
    started, finished = asyncio.Event(), asyncio.Event()
    job = blocking_job(started, finished)
    try:
        task = asyncio.ensure_future(runner_of(app, [job])._logged(job)())
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await app.close()
    assert not finished.is_set()
