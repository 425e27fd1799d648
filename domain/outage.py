"""A channel that cannot be reached: paused, probed, and never at the recipients' cost.

When the SMTP relay refuses or drops connections, the channel answers ``unreachable``
(nothing was tried). Counting that as an attempt failed recipients for good after a short
outage (five attempts with jittered backoff can go in a minute). Instead the process
keeps one ``Outage`` per channel: while it lasts, its rows wait for the next probe
without spending attempts, and only one batch probes the relay at a time (``first`` s,
``CHANNEL_OUTAGE_PROBE_SECONDS``, doubling up to ``cap``). Past the ``budget``
(``CHANNEL_OUTAGE_BUDGET_SECONDS``, 1 h) the recipients fail with the reason; past
``notice`` (1 min) the managers of the runs it holds up are told, and told again when it
is back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.backoff import Backoff

PROBE_CAP = 60.0  # seconds between probes at most (unless the first is longer)
UNREACHABLE = "channel-unreachable"  # locale keys of the reasons, then the detail
GAVE_UP = "channel-unreachable-too-long"


@dataclass
class Outage:
    budget: timedelta = timedelta(hours=1)
    notice: timedelta = timedelta(minutes=1)
    probes: Backoff = field(default_factory=lambda: Backoff(first=5.0, cap=PROBE_CAP))
    since: datetime | None = None  # None: reachable
    next_probe: datetime | None = None
    detail: str = ""
    told: set[int] = field(default_factory=set)  # runs whose managers were told

    def closed(self, now: datetime) -> bool:
        """Down, and the next probe is not due: do not even try."""
        return self.next_probe is not None and now < self.next_probe

    def failed(self, now: datetime, detail: str) -> None:
        """A probe (or a send) found the channel unreachable."""
        if self.since is None:
            self.since = now
        self.detail = detail
        self.next_probe = now + timedelta(seconds=self.probes.failed())

    def wait(self, now: datetime) -> float:
        """Seconds until the next probe: how long the rows wait."""
        if self.next_probe is None:
            return 0.0
        return max((self.next_probe - now).total_seconds(), 0.0)

    def over_budget(self, now: datetime) -> bool:
        return self.since is not None and now - self.since >= self.budget

    def to_tell(self, now: datetime, run_id: int) -> bool:
        """Whether the manager of ``run_id`` is to be told now (once per outage)."""
        if self.since is None or now - self.since < self.notice or run_id in self.told:
            return False
        self.told.add(run_id)
        return True

    def ended(self) -> set[int] | None:
        """The channel answered: the outage is over. The runs whose managers were told it
        was down (to tell them it is back); None: there was no outage."""
        if self.since is None:
            return None
        told = self.told
        self.since = self.next_probe = None
        self.told = set()
        self.probes.succeeded()
        return told
