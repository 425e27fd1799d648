"""The daily retention jobs of the bot process: old delivery rows
(``DELIVERY_RETENTION_DAYS``) and sent webhook events (``domain.webhooks.SENT_KEPT``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.scheduler import PeriodicJob
from bot.settings import Settings
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.retention import purge_deliveries, purge_sent_events
from infrastructure.db.retention import SqlDeliveryRetention

RETENTION_JOB_ID = "mailforge-retention"
EVENTS_JOB_ID = "mailforge-retention-events"
FIRST_RUN_AFTER = timedelta(minutes=5)  # start-up (migrations, menus) goes first
EVERY = timedelta(days=1)


def retention_jobs(
    settings: Settings, engine: AsyncEngine, uow_factory: UnitOfWorkFactory
) -> list[PeriodicJob]:
    """The purge of sent webhook events, daily; the purge of old delivery rows, daily,
    unless delivery retention is off (``0``)."""

    async def purge_events() -> None:
        await purge_sent_events(uow_factory)

    jobs = [PeriodicJob(EVENTS_JOB_ID, purge_events, EVERY, FIRST_RUN_AFTER)]
    days = settings.retention.delivery_days
    if days <= 0:
        return jobs
    retention = SqlDeliveryRetention(engine)

    async def purge() -> None:
        await purge_deliveries(uow_factory, retention, days=days)

    return [PeriodicJob(RETENTION_JOB_ID, purge, EVERY, FIRST_RUN_AFTER), *jobs]
