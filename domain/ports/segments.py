"""Saved segments, the indexes their fields use, and a run's results per segment
(``usecases.segments``, ``segment_stats``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Protocol

from domain.saved_segments import SavedSegment
from domain.segment_results import SegmentResult
from domain.segments import Segment


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


class SegmentResults(Protocol):
    async def results(
        self, run_id: int, segments: Sequence[tuple[str, Segment]], today: date
    ) -> list[SegmentResult]:
        """One result per segment, in order: the run's delivery rows whose address
        matches it (``today``: the day its date conditions count from). Empty when the
        run's rows are gone (retention)."""
        ...
