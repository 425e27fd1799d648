"""Who of a mailing's lists gets it: a segment, minus exclusions.

"Everyone in lists A and B (the mailing's lists) who match the segment, except the
members of list C, those matching segment D, those who got mailing X and those who
clicked in mailing Y." Stored with the mailing (``mailings.targeting``) and applied by
the reachable count and by the run's snapshot in the same set-based statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from domain.segments import Segment


@dataclass(frozen=True, slots=True)
class Targeting:
    segment: Segment = field(default_factory=Segment)
    exclude_lists: tuple[int, ...] = ()
    exclude_segment: Segment = field(default_factory=Segment)  # its matches are left out
    exclude_segment_name: str | None = None  # the saved segment it came from
    exclude_got: tuple[int, ...] = ()  # mailing ids: who was delivered one of them
    exclude_clicked: tuple[int, ...] = ()  # mailing ids: who clicked in one of them

    @property
    def is_everyone(self) -> bool:
        return (
            self.segment.is_empty
            and self.exclude_segment.is_empty
            and not self.exclude_lists
            and not self.exclude_got
            and not self.exclude_clicked
        )

    @property
    def fields(self) -> set[str]:
        return self.segment.fields | self.exclude_segment.fields

    def with_segment(self, segment: Segment) -> Targeting:
        return replace(self, segment=segment)

    def toggled(self, name: str, item: int) -> Targeting:
        """Adds or removes one id of ``exclude_lists``, ``exclude_got`` or
        ``exclude_clicked``."""
        current: tuple[int, ...] = getattr(self, name)
        changed = tuple(i for i in current if i != item) if item in current else (*current, item)
        if name == "exclude_lists":
            return replace(self, exclude_lists=changed)
        if name == "exclude_got":
            return replace(self, exclude_got=changed)
        return replace(self, exclude_clicked=changed)

    def to_json(self) -> dict[str, Any]:
        if self.is_everyone:
            return {}
        return {
            "segment": self.segment.to_json(),
            "exclude_lists": list(self.exclude_lists),
            "exclude_segment": self.exclude_segment.to_json(),
            "exclude_segment_name": self.exclude_segment_name,
            "exclude_got": list(self.exclude_got),
            "exclude_clicked": list(self.exclude_clicked),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Targeting:
        if not data:
            return cls()
        return cls(
            segment=Segment.from_json(data.get("segment")),
            exclude_lists=tuple(int(i) for i in data.get("exclude_lists") or ()),
            exclude_segment=Segment.from_json(data.get("exclude_segment")),
            exclude_segment_name=data.get("exclude_segment_name"),
            exclude_got=tuple(int(i) for i in data.get("exclude_got") or ()),
            exclude_clicked=tuple(int(i) for i in data.get("exclude_clicked") or ()),
        )
