"""Retention also removes the opens and clicks counted per delivery of old runs, and old
bounce messages; a run's totals of opens, clicks and bounces stay (both backends)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.bounces import BounceKind, BounceReport
from domain.engagement import ClickCount
from domain.ports.uow import UnitOfWorkFactory
from domain.runs import RunStatus
from domain.usecases.retention import purge_deliveries
from infrastructure.db.retention import SqlDeliveryRetention
from tests.integration.bounces.helpers import table
from tests.integration.db.test_queue import T0, add_bulk_list
from tests.integration.db.test_retention import NOW, OLD, RECENT, FixedClock, sent_run


async def engage(uow_factory: UnitOfWorkFactory, engine: AsyncEngine, run_id: int) -> None:
    """Every delivery of the run opened and clicked once, and a click on a delivery whose
    row is gone already (its id beyond the run's): all counted per delivery and in all."""
    rows = await table(engine, "SELECT id FROM deliveries WHERE run_id = :r", r=run_id)
    ids = [row["id"] for row in rows]
    async with uow_factory() as uow:
        for delivery_id in ids:
            await uow.tracking.first_open(run_id, delivery_id, T0)
        counts = [ClickCount(run_id, d, 0, 1, T0) for d in [*ids, max(ids) + 10_000]]
        await uow.tracking.add_clicks(counts)
        await uow.tracking.add_to_run(run_id, opened=len(ids), clicked=len(counts))
        await uow.tracking.add_to_link(run_id, 0, clicks=len(counts))
        await uow.commit()


async def per_run(engine: AsyncEngine, table_name: str) -> dict[int, int]:
    rows = await table(engine, f"SELECT run_id, COUNT(*) AS n FROM {table_name} GROUP BY run_id")  # noqa: S608
    return {row["run_id"]: row["n"] for row in rows}


async def test_old_runs_lose_their_per_delivery_opens_and_clicks_not_their_totals(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    list_id = await add_bulk_list(db_engine, 12)
    old = await sent_run(
        uow_factory, db_engine, list_id, T0, status=RunStatus.completed, finished_at=OLD, send=12
    )
    recent = await sent_run(
        uow_factory,
        db_engine,
        list_id,
        T0 + timedelta(hours=1),
        status=RunStatus.completed,
        finished_at=RECENT,
        send=12,
    )
    for run_id in (old, recent):
        await engage(uow_factory, db_engine, run_id)
    async with uow_factory() as uow:
        for key in ("old", "recent"):
            await uow.bounces.record(BounceReport(key, BounceKind.not_bounce), None)
        await uow.commit()
    async with db_engine.begin() as conn:
        for key, when in (("old", OLD), ("recent", RECENT)):
            await conn.execute(
                text("UPDATE bounces SET received_at = :t WHERE message_key = :k"),
                {"t": when.replace(tzinfo=None), "k": key},
            )
    totals_before = await table(db_engine, "SELECT * FROM run_tracking ORDER BY run_id")

    purged = await purge_deliveries(
        uow_factory, SqlDeliveryRetention(db_engine), days=180, clock=FixedClock(), batch_size=5
    )

    assert purged.rows == 12 and purged.finished_before == NOW - timedelta(days=180)
    assert await per_run(db_engine, "delivery_tracking") == {recent: 13}
    assert await per_run(db_engine, "link_clicks") == {recent: 13}
    assert await table(db_engine, "SELECT * FROM run_tracking ORDER BY run_id") == totals_before
    assert await per_run(db_engine, "run_links") == {old: 1, recent: 1}
    kept = await table(db_engine, "SELECT message_key FROM bounces")
    assert [row["message_key"] for row in kept] == ["recent"]
