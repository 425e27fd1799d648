"""Reusable message templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Template:
    name: str
    owner_id: int
    body: str
    subject: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
