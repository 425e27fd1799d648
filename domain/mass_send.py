"""Mass sends: a big run on a channel that can send one issue to many recipients (Sendsay).

Instead of one request per recipient, the recipients are pushed to the provider first,
then one mass send goes out, and each recipient's fate is read back from the provider's
statistics into ``deliveries``. A run is marked for it at launch, when its recipients are
snapshotted (``goes_as_mass_send``); the normal workers never claim its rows.

The job's progress lives on the run (``MassSendJob.state``, JSON) so that any worker can take
it over after a crash: the phase, the provider's ids, the attempts made. The phases:

- ``queued``: nothing done yet; the rows are claimed and the recipients pushed;
- ``pushed``: the recipients are at the provider; the mass send goes at the next take, so
  a pause or a cancel between the push and the send still holds (a cancelled run's rows
  go back to pending, unsent, like any cancelled run's);
- ``sending``: written just before the mass send request. Found on a restart, the send
  may or may not have been accepted: the rows fail as "uncertain", never sent again;
- ``sent``: accepted, with the provider's ids; the report is polled until every row is
  final or the wait for reports is over. Recipients the provider left out of the send (its
  stop-list, unsubscribed…) get no report row: once every reported row is final, they are
  closed from the provider's exclusion counts (``close_excluded``);
- ``done``: finished (``problem`` says why, when it did not go out).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.delivery import Outcome, RunContent
from domain.mailings import Channel


class MassSendPhase(enum.StrEnum):
    queued = "queued"
    pushed = "pushed"
    sending = "sending"
    sent = "sent"
    done = "done"


def goes_as_mass_send(
    thresholds: Mapping[Channel, int], channel: Channel, recipients: int, *, ab_test: bool
) -> bool:
    """Whether a run of ``recipients`` on ``channel`` becomes one mass send, decided once
    at its snapshot. ``thresholds``: from how many recipients a run on that channel does
    (a channel absent never does: it cannot, or it is not configured). An A/B test's
    variants go one by one (each recipient's variant is its own letter); an empty run
    has nothing to send."""
    threshold = thresholds.get(channel)
    return not ab_test and recipients > 0 and threshold is not None and recipients >= threshold


def queued() -> dict[str, Any]:
    """The job state of a run just marked for a mass send: nothing done yet."""
    return {"phase": MassSendPhase.queued.value}


@dataclass(slots=True)
class MassSendJob:
    """A run being mass-sent, held by one worker until ``MassSendQueue.take_mass_send``'s
    lease ends."""

    run_id: int
    content: RunContent
    state: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False  # the run was cancelled: nothing more may go out

    @property
    def phase(self) -> MassSendPhase:
        return MassSendPhase(self.state.get("phase", MassSendPhase.queued))


@dataclass(frozen=True, slots=True)
class MassSendMember:
    """One recipient pushed to the provider, with the values its letter reads."""

    address: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class MassSendStatus:
    """One row of the provider's report; ``outcome`` None: not final yet. Never ``retry``:
    a soft bounce of a mass send is ``failed`` with its reason."""

    address: str
    outcome: Outcome | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class MassSendExclusion:
    """Recipients the provider left out of a finished send, counted by ``reason`` (it names
    no address). ``outcome``: refused (for good: suppressed) or failed (this time only)."""

    reason: str
    count: int
    outcome: Outcome


def close_excluded(
    exclusions: list[MassSendExclusion], open_rows: int
) -> tuple[Outcome, str] | None:
    """How the ``open_rows`` a finished send never reported are closed, or None to keep
    waiting (the provider's counts do not cover them all: some reports may still come).

    One reason covers them all: that reason. Several: each with its count, and refused only
    when every one of them is a refusal (which address had which reason is not known)."""
    given = [e for e in exclusions if e.count > 0]
    if not open_rows or sum(e.count for e in given) < open_rows:
        return None
    if len(given) == 1:
        return given[0].outcome, given[0].reason
    refused = all(e.outcome is Outcome.refused for e in given)
    reason = "; ".join(f"{e.reason} ×{e.count}" for e in given)
    return (Outcome.refused if refused else Outcome.failed), reason


class MassSendError(Exception):
    """A step of a mass send failed. ``retry``: transient (5xx, 429, a connection refused),
    try the step again later; otherwise permanent (auth, configuration, an uncertain send),
    and the run's remaining rows fail with this message."""

    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after
