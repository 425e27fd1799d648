"""The auto-delete job: every scheduler tick, finished runs whose copies are due to delete
themselves get their recall (``domain.usecases.follow_ups.auto_delete_due``). The database
says what is due, so nothing is lost across restarts and nothing runs twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.scheduler import PeriodicJob
from bot.settings import Settings
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.follow_ups import auto_delete_due
from infrastructure.db.follow_ups import SqlFollowUps

AUTODELETE_JOB_ID = "mailforge-autodelete"


def autodelete_jobs(
    settings: Settings, engine: AsyncEngine, uow_factory: UnitOfWorkFactory
) -> list[PeriodicJob]:
    follow_ups = SqlFollowUps(engine)

    async def start_due() -> None:
        await auto_delete_due(uow_factory, follow_ups)

    every = timedelta(seconds=settings.schedule.tick_seconds)
    return [PeriodicJob(AUTODELETE_JOB_ID, start_due, every, timedelta(seconds=1))]
