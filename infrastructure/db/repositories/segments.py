"""Saved segments (``domain.saved_segments``)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.saved_segments import SavedSegment
from domain.segments import Segment
from infrastructure.db.models import SegmentRow
from infrastructure.db.repositories._sql import execute_dml, unique_name


def _saved(row: SegmentRow) -> SavedSegment:
    return SavedSegment(
        owner_id=row.owner_id,
        name=row.name,
        segment=Segment.from_json(row.definition),
        id=row.id,
        created_at=row.created_at,
    )


class SqlSegmentStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, saved: SavedSegment) -> SavedSegment:
        row = SegmentRow(
            owner_id=saved.owner_id, name=saved.name, definition=saved.segment.to_json()
        )
        self._session.add(row)
        with unique_name(saved.name):
            await self._session.flush()
        saved.id, saved.created_at = row.id, row.created_at
        return saved

    async def get(self, segment_id: int) -> SavedSegment | None:
        row = await self._session.get(SegmentRow, segment_id, populate_existing=True)
        return _saved(row) if row is not None else None

    async def of_owner(self, owner_id: int) -> list[SavedSegment]:
        stmt = select(SegmentRow).where(SegmentRow.owner_id == owner_id)
        rows = await self._session.scalars(stmt.order_by(func.lower(SegmentRow.name)))
        return [_saved(row) for row in rows]

    async def find(self, owner_id: int, name: str) -> SavedSegment | None:
        stmt = select(SegmentRow).where(
            SegmentRow.owner_id == owner_id,
            func.lower(SegmentRow.name) == name.strip().lower(),
        )
        row = (await self._session.scalars(stmt.limit(1))).first()
        return _saved(row) if row is not None else None

    async def delete(self, segment_id: int) -> bool:
        stmt = delete(SegmentRow).where(SegmentRow.id == segment_id)
        return (
            await execute_dml(self._session, stmt.execution_options(synchronize_session=False)) > 0
        )
