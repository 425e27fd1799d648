"""``SqlWorkerRegistry``: the ``workers`` table, one row per process that claims deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.models import WorkerRow

WORKERS = cast(Table, WorkerRow.__table__)


class SqlWorkerRegistry:
    """Implements ``domain.ports.workers.WorkerRegistry``; each call is one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def register(self, name: str, now: datetime) -> int:
        stmt = insert(WORKERS).values(name=name[:255], started_at=now, beat_at=now)
        async with self._engine.begin() as conn:
            return int((await conn.execute(stmt.returning(WORKERS.c.id))).scalar_one())

    async def beat(self, worker_id: int, now: datetime) -> bool:
        stmt = update(WORKERS).where(WORKERS.c.id == worker_id).values(beat_at=now)
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount > 0

    async def forget_dead(self, dead_before: datetime) -> int:
        async with self._engine.begin() as conn:
            stmt = delete(WORKERS).where(WORKERS.c.beat_at < dead_before)
            return (await conn.execute(stmt)).rowcount

    async def retire(self, worker_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(WORKERS).where(WORKERS.c.id == worker_id))
