"""The append-only audit log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.audit import AuditEntry
from infrastructure.db.models import AuditRow


def to_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        actor_id=row.actor_id,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        details=dict(row.details),
        id=row.id,
        created_at=row.created_at,
    )


class SqlAuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, entry: AuditEntry) -> None:
        row = AuditRow(
            actor_id=entry.actor_id,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            details=entry.details,
        )
        if entry.created_at is not None:
            row.created_at = entry.created_at
        self._session.add(row)
        await self._session.flush()
        entry.id, entry.created_at = row.id, row.created_at

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        """Newest first."""
        stmt = select(AuditRow).order_by(AuditRow.created_at.desc(), AuditRow.id.desc())
        rows = await self._session.scalars(stmt.limit(limit))
        return [to_entry(row) for row in rows]
