"""Worker processes and their heartbeat: how the engine tells a dead worker from a busy one.

Every process that runs delivery workers (``mailforge worker``, and ``mailforge run`` with
``WORKERS`` > 0) keeps one row in the ``workers`` table and stamps it every
``Liveness.every``. Each row it claims names it. A process silent for ``missed`` beats is
dead (killed, frozen, cut off from the database): whoever looks next, at its own beat or
at start-up, hands the rows it claimed back to the queue at once, whatever
``DELIVERY_LEASE_SECONDS`` says. The lease stays as the net for a live process whose send
hangs.

A claim token guards every result: the row's attempt number, which each claim raises. A
late result of a worker declared dead finds its row pending again, or claimed since under
another number, and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Before any worker had a heartbeat: only rows of workers whose row is gone count as lost.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Liveness:
    """A worker process beats every ``every``; one silent for ``missed`` beats is dead."""

    every: timedelta = timedelta(seconds=5)
    missed: int = 3

    def __post_init__(self) -> None:
        if self.every <= timedelta(0) or self.missed < 2:
            raise ValueError("a heartbeat needs a positive interval and at least 2 beats")

    @property
    def silence(self) -> timedelta:
        """How long a worker may stay silent before it counts as dead."""
        return self.every * self.missed

    @property
    def requeue_within(self) -> timedelta:
        """The longest a dead worker's rows wait: its silence, then the next beat of a live
        worker (or at once when a process starts after it)."""
        return self.silence + self.every

    def dead_before(self, now: datetime) -> datetime:
        """Workers whose last beat is older than this are dead."""
        return now - self.silence

    def lease_problem(self, lease: timedelta) -> str | None:
        """Why ``lease`` cannot go with this heartbeat, or None: a lease shorter than a
        worker's allowed silence would take batches from live workers."""
        if lease < self.silence:
            return (
                f"must be at least {self.missed} heartbeats ({self.silence.total_seconds():g} s):"
                " a shorter lease takes batches from live workers between two beats"
            )
        return None
