"""A run's results per segment (issue 21, point 5): how its recipients who match each
segment (the run's own, and the manager's saved ones) fared — delivered, opened,
clicked — counted in the database over the run's delivery rows."""

from __future__ import annotations

from dataclasses import dataclass

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
