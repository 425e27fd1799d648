"""Saved, reusable segments (/lists → Segments) and the storage they need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.segments import Op, Segment

INDEXED_OPS = frozenset({Op.equals, Op.one_of})


@dataclass(slots=True)
class SavedSegment:
    owner_id: int
    name: str
    segment: Segment
    id: int | None = None
    created_at: datetime | None = None


def indexed_fields(segment: Segment) -> set[str]:
    """The fields whose conditions an index on the field's folded text serves."""
    return {c.field for c in segment.conditions if c.op in INDEXED_OPS}
