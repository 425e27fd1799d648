"""``SqlSegmentResults``: a run's results per segment, each one statement over the run's
delivery rows joined to their addresses, with the segment's condition compiled as a
targeting's is (``segments.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from domain.runs import DeliveryStatus
from domain.segment_results import SegmentResult
from domain.segments import Segment
from infrastructure.db.models import AddressRow, DeliveryRow, DeliveryTrackingRow
from infrastructure.db.segments import Compiler

DELIVERIES = cast(Table, DeliveryRow.__table__)
TRACKING = cast(Table, DeliveryTrackingRow.__table__)
ADDRESSES = cast(Table, AddressRow.__table__)


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class SqlSegmentResults:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def results(
        self, run_id: int, segments: Sequence[tuple[str, Segment]], today: date
    ) -> list[SegmentResult]:
        compiler = Compiler(self._engine.dialect.name, today)
        d, t = DELIVERIES, TRACKING
        found: list[SegmentResult] = []
        async with self._engine.connect() as conn:
            for name, segment in segments:
                query = (
                    select(
                        func.count(),
                        _count(d.c.status == DeliveryStatus.delivered.value),
                        _count(t.c.opened_at.is_not(None)),
                        _count(t.c.clicked_at.is_not(None)),
                    )
                    .select_from(
                        d.join(ADDRESSES, ADDRESSES.c.id == d.c.address_id).outerjoin(
                            t, t.c.delivery_id == d.c.id
                        )
                    )
                    .where(d.c.run_id == run_id)
                )
                condition = compiler.segment(segment)
                if condition is not None:
                    query = query.where(condition)
                row = (await conn.execute(query)).one()
                found.append(SegmentResult(name, *(int(v) for v in row)))
        return found
