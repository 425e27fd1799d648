"""Audit log entries: who did what, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class AuditEntry:
    actor_id: int | None
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_at: datetime | None = None
