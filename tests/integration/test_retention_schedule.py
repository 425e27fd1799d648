"""The bot process schedules the retention purge daily, first a few minutes after start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.app import build
from bot.retention import EVENTS_JOB_ID, RETENTION_JOB_ID
from bot.settings import load_settings
from domain.runs import RunStatus
from infrastructure.db.retention import SqlDeliveryRetention
from tests.e2e.conftest import TOKEN
from tests.integration.db.test_queue import T0, add_run


async def test_the_bot_runs_the_purge_daily_starting_minutes_after_start(
    migrated_sqlite_url: str,
) -> None:
    settings = load_settings(
        bot_token=TOKEN, database_url=migrated_sqlite_url, delivery_retention_days=30
    )
    app = build(settings)
    try:
        started = datetime.now(UTC)
        app.scheduler.start()
        first = app.scheduler.next_run(RETENTION_JOB_ID)
        assert first is not None
        assert started + timedelta(minutes=4) < first < started + timedelta(minutes=6)
        [job] = [j for j in app.scheduler.jobs if j.id == RETENTION_JOB_ID]
        assert job.every == timedelta(days=1)

        # The job is the real purge: an old finished run loses its rows.
        run_id = await add_run(app.db.uow_factory, RunStatus.running, T0)
        async with app.db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO deliveries (run_id, address_id, status)"
                    " VALUES (:r, 1, 'delivered')"
                ),
                {"r": run_id},
            )
        async with app.db.uow_factory() as uow:
            run = await uow.runs.get(run_id)
            assert run is not None
            run.status, run.finished_at = RunStatus.completed, started - timedelta(days=60)
            await uow.runs.update(run)
            await uow.commit()
        await job.run()
        assert await SqlDeliveryRetention(app.db.engine).purge(datetime.now(UTC)) == {}
        async with app.db.uow_factory() as uow:
            assert [e.action for e in await uow.audit.recent()] == ["run.purge"]
    finally:
        app.scheduler.stop()
        await app.close()


async def test_no_purge_is_scheduled_when_retention_is_off(migrated_sqlite_url: str) -> None:
    settings = load_settings(
        bot_token=TOKEN, database_url=migrated_sqlite_url, delivery_retention_days=0
    )
    app = build(settings)
    try:
        app.scheduler.start()
        # other periodic jobs (auto-delete) run; the purge is not among them
        assert RETENTION_JOB_ID not in [j.id for j in app.scheduler.jobs]
        assert app.scheduler.next_run(RETENTION_JOB_ID) is None
        # sent webhook events are purged all the same (they are no delivery rows)
        [events] = [j for j in app.scheduler.jobs if j.id == EVENTS_JOB_ID]
        assert events.every == timedelta(days=1)
    finally:
        app.scheduler.stop()
        await app.close()
