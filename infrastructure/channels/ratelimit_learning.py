"""The rate a limiter really runs at: the configured one until the server proves it lower.

A 429 means the server's window was full when that request arrived, so the sends that
counted there are the departures of the second before it (429'd ones given back). That
count *is* the server's limit: the limiter goes on at it straight after the pause instead
of bursting at the configured rate into the next 429 (measured from outside before this:
a server allowing 50/s with ``retry_after`` 3 and the bot set to 200/s → 15/s, a third).

A server's limit can rise again (Telegram's paid broadcasts, a storm that passes), so the
learned rate is raised by ``STEP`` after ``probe_every`` seconds without a 429. A probe
that trips a 429 at once costs one ``retry_after``: each failed probe doubles the wait
before the next one (up to ``MAX_PROBE_EVERY``), so a steady limit is probed rarely.
"""

from __future__ import annotations

from dataclasses import dataclass

STEP = 1.1  # a probe raises the rate by a tenth
FIRST_PROBE = 30.0  # seconds without a 429 before the first probe
MAX_PROBE_EVERY = 600.0


@dataclass
class LearnedRate:
    configured: float
    rate: float = 0.0
    probe_every: float = FIRST_PROBE
    probe_at: float = float("inf")  # no probe while running at the configured rate
    probed_at: float | None = None  # when the last probe raised the rate

    def __post_init__(self) -> None:
        if self.configured <= 0:
            raise ValueError("rate must be positive")
        self.rate = self.rate or self.configured

    def learn(self, counted: int, now: float) -> bool:
        """A 429 arrived after ``counted`` sends counted in the server's last second.
        True when the rate went down to that."""
        if counted < 1 or counted >= self.rate:
            return False  # not our rate's fault (a chat's own limit, a storm at the server)
        failed_probe = self.probed_at is not None and now - self.probed_at < self.probe_every
        if failed_probe:
            self.probe_every = min(MAX_PROBE_EVERY, self.probe_every * 2)
        self.rate = float(counted)
        self.probed_at = None
        self.probe_at = now + self.probe_every
        return True

    def probe(self, now: float) -> bool:
        """Raise the rate a step when it has run long enough without a 429; True if it rose."""
        if now < self.probe_at or self.rate >= self.configured:
            return False
        self.rate = min(self.configured, self.rate * STEP)
        self.probed_at = now
        self.probe_at = now + self.probe_every if self.rate < self.configured else float("inf")
        return True
