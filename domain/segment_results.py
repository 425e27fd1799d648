"""A run's results per segment (issue 21, point 5): how its recipients who match each
segment (the run's own, and the manager's saved ones) fared — delivered, opened,
clicked — counted in the database over the run's delivery rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from domain.segments import Segment

MAX_SEGMENTS = 8  # saved segments shown on one card


@dataclass(frozen=True, slots=True)
class SegmentResult:
    name: str
    recipients: int  # the run's recipients who match it
    delivered: int
    opened: int
    clicked: int

    def share(self, count: int) -> int:
        """``count`` as a whole percentage of the recipients."""
        return round(100 * count / self.recipients) if self.recipients else 0


class SegmentResults(Protocol):
    async def results(
        self, run_id: int, segments: Sequence[tuple[str, Segment]], today: date
    ) -> list[SegmentResult]:
        """One result per segment, in order: the run's delivery rows whose address
        matches it (``today``: the day its date conditions count from). Empty when the
        run's rows are gone (retention)."""
        ...
