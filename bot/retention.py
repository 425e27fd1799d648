"""The daily retention job of the bot process (``DELIVERY_RETENTION_DAYS``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.scheduler import PeriodicJob
from bot.settings import Settings
from domain.ports import UnitOfWorkFactory
from domain.usecases.retention import purge_deliveries
from infrastructure.db.retention import SqlDeliveryRetention

RETENTION_JOB_ID = "mailforge-retention"
FIRST_RUN_AFTER = timedelta(minutes=5)  # start-up (migrations, menus) goes first
EVERY = timedelta(days=1)


def retention_jobs(
    settings: Settings, engine: AsyncEngine, uow_factory: UnitOfWorkFactory
) -> list[PeriodicJob]:
    """The purge of old delivery rows, daily; none when retention is off (``0``)."""
    days = settings.delivery_retention_days
    if days <= 0:
        return []
    retention = SqlDeliveryRetention(engine)

    async def purge() -> None:
        await purge_deliveries(uow_factory, retention, days=days)

    return [PeriodicJob(RETENTION_JOB_ID, purge, EVERY, FIRST_RUN_AFTER)]
