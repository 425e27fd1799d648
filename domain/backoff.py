"""Backing off from something that keeps failing (the database during an outage).

A worker that lost its database must neither die nor hammer the server with a traceback
every half second: it waits ``first`` seconds, then twice as long after each failure in
a row, at most ``cap``; the first success resets the streak.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    first: float = 0.5
    cap: float = 5.0
    failures: int = 0  # failures in a row

    def __post_init__(self) -> None:
        if self.first <= 0 or self.cap < self.first:
            raise ValueError("a backoff needs 0 < first <= cap")

    def failed(self) -> float:
        """One more failure; how long to wait before the next try."""
        delay = min(self.cap, self.first * 2.0 ** min(self.failures, 30))
        self.failures += 1
        return delay

    def succeeded(self) -> int:
        """The streak is over; how many failures it had (0: there was none)."""
        failures, self.failures = self.failures, 0
        return failures


def short_error(exc: BaseException) -> str:
    """An error's type and first line: enough for a log line, without the traceback or
    the database driver's background paragraph."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
