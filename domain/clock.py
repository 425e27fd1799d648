"""Time as a dependency, so tests can control it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Gives the current time as a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock; always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
