"""Saved, reusable segments (/lists → Segments) and the storage they need."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.segments import Op, Segment

INDEXED_OPS = frozenset({Op.equals, Op.one_of})


@dataclass(slots=True)
class SavedSegment:
    owner_id: int
    name: str
    segment: Segment
    id: int | None = None
    created_at: datetime | None = None


class SegmentStore(Protocol):
    """A manager's saved segments; names are unique per owner, ignoring case."""

    async def add(self, saved: SavedSegment) -> SavedSegment:
        """Stores it and sets its id; ``Conflict("segments-name-taken")`` on a taken name."""
        ...

    async def get(self, segment_id: int) -> SavedSegment | None: ...

    async def of_owner(self, owner_id: int) -> list[SavedSegment]:
        """By name."""
        ...

    async def find(self, owner_id: int, name: str) -> SavedSegment | None:
        """By name, ignoring case."""
        ...

    async def delete(self, segment_id: int) -> bool: ...


class FieldIndexes(Protocol):
    """Indexes on the fields that saved segments use (those are the ones used often)."""

    async def ensure(self, fields: Collection[str]) -> None:
        """Index each field for equality (idempotent; built without blocking writes where
        the database can). A failure is logged, never raised: a segment works unindexed."""
        ...


def indexed_fields(segment: Segment) -> set[str]:
    """The fields whose conditions an index on the field's folded text serves."""
    return {c.field for c in segment.conditions if c.op in INDEXED_OPS}
