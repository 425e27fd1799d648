"""The audit log of important actions (``domain.audit.record``)."""

from __future__ import annotations

from typing import Protocol

from domain.audit import AuditEntry


class AuditLog(Protocol):
    """Append-only record of important actions."""

    async def add(self, entry: AuditEntry) -> None: ...

    async def recent(self, limit: int = 50) -> list[AuditEntry]: ...
