"""When schedules fire, and telling the owner what a slot did (``usecases.schedules``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.mailings import Mailing, Schedule
from domain.runs import (
    SkippedSlot,
)
from domain.users import User


class ScheduleCalculator(Protocol):
    """When a schedule fires; times are timezone-aware, in UTC.

    ``validate`` raises ``InvalidInput`` with a key (``schedule-cron-invalid``,
    ``schedule-too-frequent``, ``schedule-in-past``) and an example in its params.
    """

    def validate(self, schedule: Schedule, now: datetime) -> None: ...

    def next_times(
        self, schedule: Schedule, after: datetime, count: int, until: datetime | None = None
    ) -> list[datetime]:
        """Up to ``count`` fire times strictly after ``after`` and no later than ``until``
        (when given), honouring ends and max runs (counting runs is the caller's business:
        pass the remaining count)."""
        ...


class ScheduleNotifier(Protocol):
    """Tells a mailing's owner, in their chat and language, that a scheduled launch did
    not happen and why, or that it started (and then how it ends). Never raises: a failed
    message is logged."""

    async def slot_skipped(self, skipped: SkippedSlot, owner: User | None) -> None: ...

    async def slot_launched(self, mailing: Mailing, run_id: int, owner: User | None) -> None:
        """A scheduled run started: the owner is told now, and gets its summary at the
        end."""
        ...
