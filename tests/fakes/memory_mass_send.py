"""The mass-send side of ``domain.ports.mass_send.MassSendQueue`` in memory, for
``MassSendRunner`` unit tests: one marked run's rows (delivery id -> status), its job and
when it falls due. Statuses follow the port's contract: claims move pending rows to
``sending``; only rows still in ``sending`` take a result; ``fail_mass_send`` closes what
is still open. The events given with results are kept (``told``) for the rows they change.
A/B variants, claims tokens, retries with backoff and the outbox itself are the queue's
business (``tests/integration/db/test_queue.py``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.delivery import Outbound, Outcome, RetryPolicy, SendResult
from domain.mass_send import MassSendJob
from domain.recipients import AddressKind
from domain.webhooks import Event

OPEN = ("pending", "sending")


@dataclass
class MassSendRow:
    value: str
    attributes: dict[str, object]
    status: str = "pending"
    error: str | None = None


class MemoryMassSendQueue:
    def __init__(self, job: MassSendJob, rows: Sequence[tuple[str, dict[str, object]]]) -> None:
        self.job = copy.deepcopy(job)
        self.rows = {
            i: MassSendRow(value, dict(attrs)) for i, (value, attrs) in enumerate(rows, 1)
        }
        self.due_at: datetime | None = None  # None at first: due at once
        self.done = False  # saved with no next time: never taken again
        self.released = False
        # The webhook events stored with their rows' results (delivery id: event), as
        # ``complete`` writes them into the outbox in the same transaction.
        self.told: dict[int, Event] = {}

    async def take_mass_send(self, now: datetime, lease: timedelta) -> MassSendJob | None:
        if self.done or self.released or (self.due_at is not None and self.due_at > now):
            return None
        self.due_at = now + lease
        return copy.deepcopy(self.job)

    async def save_mass_send(self, job: MassSendJob, due_at: datetime | None) -> None:
        self.job.state = copy.deepcopy(job.state)
        self.due_at, self.done = due_at, due_at is None

    async def release_mass_send(self, run_id: int) -> None:
        self.released = True

    def _move(self, before: tuple[str, ...], after: str, error: str | None = None) -> int:
        moved = [row for row in self.rows.values() if row.status in before]
        for row in moved:
            row.status, row.error = after, error if error is not None else row.error
        return len(moved)

    async def claim_mass_send(self, run_id: int, now: datetime) -> int:
        return self._move(("pending",), "sending")

    async def unclaim_mass_send(self, run_id: int) -> int:
        return self._move(("sending",), "pending")

    async def mass_send_recipients(self, run_id: int, after_id: int, limit: int) -> list[Outbound]:
        found = [self._outbound(run_id, i) for i in sorted(self.rows) if i > after_id]
        return [o for o in found if o is not None][:limit]

    async def mass_send_rows(self, run_id: int, values: Sequence[str]) -> dict[str, Outbound]:
        wanted = set(values)
        found = [self._outbound(run_id, i) for i in sorted(self.rows)]
        return {o.value.lower(): o for o in found if o is not None and o.value.lower() in wanted}

    def _outbound(self, run_id: int, delivery_id: int) -> Outbound | None:
        """Row ``delivery_id`` (its own address id too) when it is in ``sending``."""
        row = self.rows[delivery_id]
        if row.status != "sending":
            return None
        attributes = dict(row.attributes)
        return Outbound(
            delivery_id, run_id, delivery_id, AddressKind.email, row.value, attributes, 0
        )

    async def mass_send_open(self, run_id: int) -> int:
        return sum(row.status in OPEN for row in self.rows.values())

    async def fail_mass_send(self, run_id: int, error: str, now: datetime) -> int:
        return self._move(OPEN, "failed", error)

    async def complete(
        self,
        results: Sequence[SendResult],
        now: datetime,
        policy: RetryPolicy,
        claims: Mapping[int, int] | None = None,
        events: Mapping[int, Event] | None = None,
    ) -> datetime | None:
        for result in results:
            row = self.rows.get(result.delivery_id)
            if row is None or row.status != "sending":
                continue
            assert result.outcome in (Outcome.delivered, Outcome.failed, Outcome.refused)
            row.status, row.error = result.outcome.value, result.error
            if events and result.delivery_id in events:  # told with the row written now
                self.told[result.delivery_id] = events[result.delivery_id]
        return None

    def statuses(self) -> dict[str, str]:
        return {row.value: row.status for row in self.rows.values()}
