"""``SqlMassSendQueue``: the delivery queue plus the mass sends of big runs (``domain.mass_send``).

A run is marked for a mass send by ``snapshot`` (``domain.mass_send.goes_as_mass_send``: its
channel has a threshold and the run reaches it) while it is still paused, so no normal
worker ever claims one of its rows. Its job state lives on the run
(``mailing_runs.bulk_state``, JSON), and ``mailing_runs.bulk_due_at`` is both the lease
of the worker holding it and the time of its next poll. Results go through ``complete``,
like any batch's, so run totals stay exact and refusals suppress their addresses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ab_test import Split
from domain.delivery import Outbound, Outcome, RetryPolicy, RunContent, SendResult
from domain.local_time import Release
from domain.mailings import Channel
from domain.mass_send import MassSendJob, MassSendPhase, goes_as_mass_send, queued
from domain.recipients import AddressKind
from domain.runs import DeliveryStatus, RunStatus
from domain.targeting import Targeting
from infrastructure.db.models import AddressRow, DeliveryRow, MailingRunRow
from infrastructure.db.queue import SqlDeliveryQueue

RUNS = cast(Table, MailingRunRow.__table__)
DELIVERIES = cast(Table, DeliveryRow.__table__)
ADDRESSES = cast(Table, AddressRow.__table__)
_PHASE = RUNS.c.bulk_state["phase"].as_string()
_SENDING = DeliveryStatus.sending.value
_PENDING = DeliveryStatus.pending.value
FAIL_CHUNK = 5000


class SqlMassSendQueue(SqlDeliveryQueue):
    """Implements ``domain.ports.mass_send.MassSendQueue``; ``thresholds``: from how many
    recipients a run on that channel goes out as one mass send (channels absent: never)."""

    def __init__(self, engine: AsyncEngine, thresholds: Mapping[Channel, int] | None = None):
        super().__init__(engine)
        self._thresholds = dict(thresholds or {})

    async def snapshot(
        self,
        run_id: int,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        targeting: Targeting | None = None,
        today: date | None = None,
        release: Release | None = None,
        split: Split | None = None,
    ) -> int:
        inserted = await super().snapshot(
            run_id, list_ids, kinds, targeting, today, release, split
        )
        if not inserted or not self._thresholds:  # no run can go as a mass send: no read
            return inserted
        async with self._engine.begin() as conn:
            content = (
                await conn.execute(select(RUNS.c.content).where(RUNS.c.id == run_id))
            ).scalar_one()
            channel = RunContent.from_json(content).channel
            if goes_as_mass_send(self._thresholds, channel, inserted, ab_test=split is not None):
                await conn.execute(
                    update(RUNS).where(RUNS.c.id == run_id).values(bulk_state=queued())
                )
        return inserted

    async def take_mass_send(self, now: datetime, lease: timedelta) -> MassSendJob | None:
        due = (
            select(RUNS.c.id)
            .where(
                RUNS.c.bulk_state.is_not(None),
                or_(RUNS.c.bulk_due_at.is_(None), RUNS.c.bulk_due_at <= now),
                or_(
                    RUNS.c.status.in_(("running", "cancelled")),
                    and_(RUNS.c.status == "paused", MassSendPhase.sent.value == _PHASE),
                ),
                func.coalesce(_PHASE, "") != MassSendPhase.done.value,
            )
            .order_by(RUNS.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        taken = (
            update(RUNS)
            .where(RUNS.c.id == due)
            .values(bulk_due_at=now + lease)
            .returning(RUNS.c.id, RUNS.c.content, RUNS.c.bulk_state, RUNS.c.status)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(taken)).first()
        if row is None:
            return None
        content, state = RunContent.from_json(row.content), dict(row.bulk_state or {})
        return MassSendJob(row.id, content, state, cancelled=row.status == RunStatus.cancelled)

    async def save_mass_send(self, job: MassSendJob, due_at: datetime | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(RUNS)
                .where(RUNS.c.id == job.run_id)
                .values(bulk_state=dict(job.state), bulk_due_at=due_at)
            )

    async def release_mass_send(self, run_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(RUNS).where(RUNS.c.id == run_id).values(bulk_state=None, bulk_due_at=None)
            )

    async def claim_mass_send(self, run_id: int, now: datetime) -> int:
        claim = (
            update(DELIVERIES)
            .where(DELIVERIES.c.run_id == run_id, DELIVERIES.c.status == _PENDING)
            .values(
                status=_SENDING,
                claimed_at=now,
                attempts=DELIVERIES.c.attempts + 1,
                next_attempt_at=None,
                updated_at=now,
            )
        )
        async with self._engine.begin() as conn:
            moved = (await conn.execute(claim)).rowcount
        return int(moved)

    async def unclaim_mass_send(self, run_id: int) -> int:
        back = (
            update(DELIVERIES)
            .where(DELIVERIES.c.run_id == run_id, DELIVERIES.c.status == _SENDING)
            .values(status=_PENDING, claimed_at=None)
        )
        async with self._engine.begin() as conn:
            moved = (await conn.execute(back)).rowcount
        return int(moved)

    async def mass_send_recipients(self, run_id: int, after_id: int, limit: int) -> list[Outbound]:
        query = _sending(run_id).where(DELIVERIES.c.id > after_id).order_by(DELIVERIES.c.id)
        return await self._outbounds(run_id, query.limit(limit))

    async def mass_send_rows(self, run_id: int, values: Sequence[str]) -> dict[str, Outbound]:
        if not values:
            return {}
        query = _sending(run_id).where(ADDRESSES.c.value.in_(sorted({v.lower() for v in values})))
        return {row.value.lower(): row for row in await self._outbounds(run_id, query)}

    async def _outbounds(self, run_id: int, query: Select[Any]) -> list[Outbound]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Outbound(
                delivery_id=row.id,
                run_id=run_id,
                address_id=row.address_id,
                kind=AddressKind(row.kind),
                value=row.value,
                attributes=dict(row.attributes or {}),
                attempts=row.attempts - 1,
            )
            for row in rows
        ]

    async def mass_send_open(self, run_id: int) -> int:
        query = select(RUNS.c.pending + RUNS.c.sending).where(RUNS.c.id == run_id)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one_or_none() or 0)

    async def fail_mass_send(self, run_id: int, error: str, now: datetime) -> int:
        """Pending rows are claimed first; then the sending ones fail, a chunk at a time."""
        await self.claim_mass_send(run_id, now)
        failed, after = 0, 0
        while True:
            ids = [
                o.delivery_id for o in await self.mass_send_recipients(run_id, after, FAIL_CHUNK)
            ]
            if not ids:
                return failed
            results = [SendResult(i, Outcome.failed, error) for i in ids]
            await self.complete(results, now, RetryPolicy())  # no retry results here
            failed, after = failed + len(ids), ids[-1]


def _sending(run_id: int) -> Select[Any]:
    """The run's rows in ``sending`` with their addresses, as ``Outbound`` reads them."""
    return (
        select(
            DELIVERIES.c.id,
            DELIVERIES.c.address_id,
            DELIVERIES.c.attempts,
            ADDRESSES.c.kind,
            ADDRESSES.c.value,
            ADDRESSES.c.attributes,
        )
        .join(ADDRESSES, ADDRESSES.c.id == DELIVERIES.c.address_id)
        .where(DELIVERIES.c.run_id == run_id, DELIVERIES.c.status == _SENDING)
    )
