"""Time as a dependency, so tests can control it."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The real clock; always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
