"""``SqlABTests``: an A/B test run's sample results and the release of its rest
(``domain.ports.ab_tests.ABTestStore``), each one transaction of its own.

The release updates the held rows first and the run last (the queue's lock order:
deliveries, then runs), and only while the run has no verdict: two instances (or a press
and the timer) racing meet on the held rows' locks, and the second finds nothing held and
no run left to decide, so the winner goes to the rest exactly once. The held rows are
never claimed (``domain.ab_test.HELD`` is not due), so no worker holds their locks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, case, func, null, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from domain.ab_test import Decision, Metric, VariantResult
from domain.runs import DeliveryStatus, RunStatus
from infrastructure.db.models import (
    DeliveryRow,
    DeliveryTrackingRow,
    MailingRunRow,
    RunAnswerRow,
)
from infrastructure.db.wakeup import NOTIFY

RUNS = cast(Table, MailingRunRow.__table__)
DELIVERIES = cast(Table, DeliveryRow.__table__)
TRACKING = cast(Table, DeliveryTrackingRow.__table__)
ANSWERS = cast(Table, RunAnswerRow.__table__)
_DELIVERED = DeliveryStatus.delivered.value


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class SqlABTests:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pg = engine.dialect.name == "postgresql"

    async def due(self, now: datetime) -> list[int]:
        query = (
            select(RUNS.c.id)
            .where(
                RUNS.c.ab_due_at <= now,
                RUNS.c.ab_result.is_(None),
                RUNS.c.status != RunStatus.cancelled.value,
            )
            .order_by(RUNS.c.id)
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def results(self, run_id: int, metric: Metric, variants: int) -> list[VariantResult]:
        d = DELIVERIES
        delivered = d.c.status == _DELIVERED
        source: Any = d
        sent: ColumnElement[Any]
        hits: ColumnElement[Any]
        if metric is Metric.delivered:
            sent, hits = func.count(), _count(delivered)
        else:
            if metric is Metric.answers:
                source = d.outerjoin(
                    ANSWERS,
                    and_(ANSWERS.c.run_id == d.c.run_id, ANSWERS.c.address_id == d.c.address_id),
                )
                hit = ANSWERS.c.option.is_not(None)
            else:
                source = d.outerjoin(TRACKING, TRACKING.c.delivery_id == d.c.id)
                stamp = TRACKING.c.opened_at if metric is Metric.opens else TRACKING.c.clicked_at
                hit = stamp.is_not(None)
            sent, hits = _count(delivered), _count(and_(delivered, hit))
        query = (
            select(d.c.variant, sent, hits)
            .select_from(source)
            .where(d.c.run_id == run_id, d.c.variant.is_not(None))
            .group_by(d.c.variant)
        )
        async with self._engine.connect() as conn:
            found = {row[0]: (int(row[1]), int(row[2])) for row in await conn.execute(query)}
        return [VariantResult(*found.get(i, (0, 0))) for i in range(variants)]

    async def release(self, run_id: int, decision: Decision, now: datetime) -> int | None:
        held = and_(
            DELIVERIES.c.run_id == run_id,
            DELIVERIES.c.status == DeliveryStatus.pending.value,
            DELIVERIES.c.variant.is_(None),
        )
        rest = (
            update(DELIVERIES)
            .where(held)
            .values(variant=decision.winner, next_attempt_at=null(), updated_at=now)
        )
        decided = (
            update(RUNS)
            .where(RUNS.c.id == run_id, RUNS.c.ab_result.is_(None))
            .values(ab_result=decision.to_json(), ab_due_at=null())
        )
        try:
            async with self._engine.begin() as conn:
                released = (await conn.execute(rest)).rowcount
                if (await conn.execute(decided)).rowcount != 1:
                    raise _AlreadyDecided  # rolls the rest's update back
                if self._pg and released:  # idle workers take the rest at once (wakeup.py)
                    await conn.exec_driver_sql(NOTIFY)
        except _AlreadyDecided:
            return None
        return released


class _AlreadyDecided(Exception):
    pass


__all__ = ["SqlABTests"]
