"""``SqlDeliveryQueue``: the ``deliveries`` table as the delivery engine's work queue.

Every method is one short transaction of its own (``engine.begin()``), so a worker holds
no lock while it sends. Run totals move in the same transaction as the rows they count,
by exactly the number of rows that changed, so ``pending + sending + delivered + failed +
refused`` of a run always equals its number of delivery rows. Final results are also
added, per run and minute, to ``run_minutes``: the charts and per-channel statistics read
that, never the delivery rows, which a retention job may remove.

What a send result, or a lost claim, does to a row is decided by ``domain.fates``
(``decide``, ``lost_claim``); this adapter writes it. Attempts: ``deliveries.attempts``
counts claims, so it includes the attempt in flight; an ``unreachable`` result gives its
attempt back (nothing was tried: the channel could not be reached, ``domain.outage``).
``Outbound.attempts`` is the count *before* the claim (0 for a first try), and
``complete`` hands the count *including* the finished attempt (1 after the first try) to
``RetryPolicy.exhausted`` and ``RetryPolicy.delay``. A row requeued after its lease
expired keeps its count: the lost attempt may have reached the recipient.

Delivery is at least once: a row is sent twice only when its worker's process was
declared dead (its heartbeat stopped, ``domain.workers``) or its claim outlived the lease,
so the duplicates are bounded by the batches in flight at that moment. A late
``complete`` for a row that is no longer in ``sending``, or that was claimed again since
(its claim token, the attempt number, moved on), changes nothing.

After a big snapshot the table's statistics are refreshed before the run starts
(``statistics.py``); the PostgreSQL statements' plans do not depend on the table's size
(``queue_sql.py``). Requeued rows wake idle workers (``NOTIFY``, ``wakeup.py``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.ab_test import Split
from domain.delivery import Outbound, RetryPolicy, SendResult
from domain.fates import decide, lost_claim
from domain.local_time import Release
from domain.recipients import AddressKind
from domain.runs import DeliveryStatus
from domain.targeting import Targeting
from domain.webhooks import Event
from domain.workers import NEVER
from infrastructure.db import queue_sql as sql
from infrastructure.db import statistics
from infrastructure.db.base import UTCDateTime
from infrastructure.db.repositories.webhooks import emit_on
from infrastructure.db.segments import Compiler
from infrastructure.db.wakeup import NOTIFY

TOTALS = ("pending", "sending", "delivered", "failed", "refused")
FINAL = ("delivered", "failed", "refused")
_SENDING = DeliveryStatus.sending.value
_KINDS = {kind.value: kind for kind in AddressKind}  # a dict lookup: AddressKind() is slower
Deltas = defaultdict[int, dict[str, int]]
# A row's result: id, status, error, provider id, next attempt, attempts given back (0/1),
# answer lost (a possible duplicate if it is delivered later).
Update = tuple[int, str, str | None, str | None, datetime | None, int, bool]


def _deltas() -> Deltas:
    return defaultdict(lambda: dict.fromkeys(TOTALS, 0))


class SqlDeliveryQueue:
    """Implements the ports of ``domain.ports.queue`` on PostgreSQL and SQLite."""

    def __init__(self, engine: AsyncEngine) -> None:
        name = engine.dialect.name
        if name == "postgresql":
            self._sql = sql.POSTGRESQL
        elif name == "sqlite":
            self._sql = sql.SQLITE
        else:
            raise NotImplementedError(f"no delivery queue for {name}")
        self._engine = engine
        self._pg = name == "postgresql"
        # SQLite reads bulk timestamps out of JSON: store them as UTCDateTime would.
        stamp = UTCDateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        self._stamp: Callable[[Any], Any] = stamp if stamp is not None else _same

    # -- snapshots ----------------------------------------------------------------------

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
        """Idempotent: a second call for the same run adds only addresses not there yet.
        A targeted run's condition joins the same ``INSERT … SELECT`` (``segments.py``), and
        so does an A/B test's split (``ab_split.py``)."""
        if not list_ids or not kinds:
            return 0
        params = {
            "run_id": run_id,
            "list_ids": list(list_ids),
            "kinds": [AddressKind(kind).value for kind in kinds],
        }
        day = today or datetime.now(UTC).date()
        compiler = Compiler(self._engine.dialect.name, day)
        selected = compiler.targeting(targeting)
        first: Executable = sql.SNAPSHOT_FIRST
        more: Executable = sql.SNAPSHOT_MORE
        if selected is not None or release is not None or split is not None:
            due = compiler.release(release) if release is not None else None
            first, more = sql.targeted_snapshot(self._engine.dialect.name, selected, due, split)
        async with self._engine.begin() as conn:
            again = (await conn.execute(sql.RUN_HAS_DELIVERIES, {"run_id": run_id})).scalar()
            try:
                async with conn.begin_nested():
                    inserted = (await conn.execute(more if again else first, params)).rowcount
            except IntegrityError:  # another snapshot of this run committed meanwhile
                inserted = (await conn.execute(more, params)).rowcount
            await self._add_pending(conn, run_id, inserted)
        # Before the run starts: its claims are planned with the new rows counted.
        await statistics.refresh_after(self._engine, {"deliveries": inserted})
        return inserted

    async def snapshot_one(self, run_id: int, address_id: int) -> int:
        """Returns how many deliveries were added: 1, or 0 if the run already had one."""
        async with self._engine.begin() as conn:
            params = {"run_id": run_id, "address_id": address_id}
            inserted = (await conn.execute(sql.SNAPSHOT_ONE, params)).rowcount
            await self._add_pending(conn, run_id, inserted)
        return inserted

    async def _add_pending(self, conn: AsyncConnection, run_id: int, count: int) -> None:
        if count:
            deltas = _deltas()
            deltas[run_id]["pending"] = count
            await self._move_totals(conn, deltas)

    # -- the work loop ------------------------------------------------------------------

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        """Oldest running run first, then by delivery id; ``Outbound.attempts`` is the
        number of attempts before this one (0 for a first try)."""
        if limit < 1:
            return []
        params = {"limit": limit, "now": now, "worker": worker}
        async with self._engine.begin() as conn:
            rows = (await conn.execute(self._sql.claim, params)).all()
            if not rows:
                return []
            if self._sql.claimed_addresses is None:
                found = [tuple(row) for row in rows]
            else:
                ids = self._ids(sorted({row.address_id for row in rows}))
                addresses = {
                    a.id: (a.kind, a.value, a.attributes)
                    for a in await conn.execute(self._sql.claimed_addresses, ids)
                }
                found = [(*row, *addresses[row.address_id]) for row in rows]
            # The run totals are not touched: "pending" there counts every row not final
            # yet, claimed or not. Moving pending -> sending here made every claim wait for
            # the run row's lock behind the other workers' records (bench/delivery.py).
        return sorted(
            (
                Outbound(
                    delivery_id=delivery_id,
                    run_id=run_id,
                    address_id=address_id,
                    kind=_KINDS[kind],
                    value=value,
                    attributes=dict(attrs or {}),
                    attempts=attempts - 1,
                    variant=variant,
                )
                for delivery_id, run_id, address_id, attempts, variant, kind, value, attrs in found
            ),
            key=lambda outbound: outbound.delivery_id,
        )

    async def complete(
        self,
        results: Sequence[SendResult],
        now: datetime,
        policy: RetryPolicy,
        claims: Mapping[int, int] | None = None,
        events: Mapping[int, Event] | None = None,
    ) -> datetime | None:
        """Only rows still in ``sending`` (under the claim of ``claims``, when given)
        change; the last result for an id wins; the ``events`` of the rows that change
        are written to the webhook outbox in the same transaction. Returns the earliest
        retry's due time."""
        by_id = {result.delivery_id: result for result in results}
        if not by_id:
            return None
        async with self._engine.begin() as conn:
            locked = await conn.execute(self._sql.lock_sending, self._ids(sorted(by_id)))
            updates: list[Update] = []
            refused: list[int] = []
            deltas = _deltas()
            for delivery_id, run_id, address_id, attempts, status in locked:
                if status != _SENDING or (
                    claims is not None and claims.get(delivery_id) != attempts
                ):
                    continue  # late: requeued or claimed again since (domain.workers)
                result = by_id[delivery_id]
                fate = decide(result, attempts, now, policy)  # domain.fates
                row = (
                    delivery_id,
                    fate.status,
                    result.error,
                    result.provider_id,
                    fate.next_at,
                    int(fate.given_back),
                    fate.answer_lost,
                )
                updates.append(row)
                if fate.suppresses:
                    refused.append(address_id)
                deltas[run_id]["pending"] -= 1  # a retry comes back: no change
                deltas[run_id][fate.status.value] += 1
            if not updates:
                return None
            await conn.execute(self._sql.complete, {"now": now, **self._complete_rows(updates)})
            if refused:
                await conn.execute(self._sql.suppress, {"now": now, **self._ids(refused)})
            await self._move_totals(conn, deltas)
            await self._add_minutes(conn, deltas, now)
            if events:
                await emit_on(conn, [events[row[0]] for row in updates if row[0] in events])
        return min((row[4] for row in updates if row[4] is not None), default=None)

    async def requeue_expired(
        self,
        lease: timedelta,
        now: datetime,
        policy: RetryPolicy,
        dead_before: datetime | None = None,
    ) -> int:
        """Rows whose ``claimed_at`` is older than ``now - lease``, or whose worker's last
        beat is older than ``dead_before`` (or whose worker's row is gone); attempts are
        kept. A row whose attempts (the lost ones included) exhaust ``policy`` becomes
        failed instead: a recipient that crashes its worker every time must not loop for
        ever."""
        params = {"cutoff": now - lease, "dead_before": dead_before or NEVER}
        async with self._engine.begin() as conn:
            expired = (await conn.execute(self._sql.expired, params)).all()
            if not expired:
                return 0
            rows: list[tuple[int, str, str | None]] = []
            deltas = _deltas()
            for delivery_id, run_id, attempts in expired:
                status, error = lost_claim(attempts, policy)  # domain.fates
                rows.append((delivery_id, status.value, error))
                if status is not DeliveryStatus.pending:  # pending: counted as such already
                    deltas[run_id][status.value] += 1
                    deltas[run_id]["pending"] -= 1
            await conn.execute(self._sql.requeue, {"now": now, **self._requeue_rows(rows)})
            await self._move_totals(conn, deltas)
            await self._add_minutes(conn, deltas, now)
            if self._pg:  # idle workers of every process take them at once (wakeup.py)
                await conn.exec_driver_sql(NOTIFY)
        return len(rows)

    # -- bulk parameters ----------------------------------------------------------------

    def _ids(self, ids: Sequence[int]) -> dict[str, Any]:
        return {"ids": list(ids) if self._pg else json.dumps(list(ids))}

    def _complete_rows(self, rows: Sequence[Update]) -> dict[str, Any]:
        if self._pg:
            names = ("ids", "statuses", "errors", "providers", "next_ats", "given_backs", "losts")
            return {name: [row[i] for row in rows] for i, name in enumerate(names)}
        doc = [
            (i, s, e, p, self._stamp(n) if n is not None else None, b, int(lost))
            for i, s, e, p, n, b, lost in rows
        ]
        return {"rows": json.dumps(doc)}

    def _requeue_rows(self, rows: Sequence[tuple[int, str, str | None]]) -> dict[str, Any]:
        if self._pg:
            names = ("ids", "statuses", "errors")
            return {name: [row[i] for row in rows] for i, name in enumerate(names)}
        return {"rows": json.dumps(rows)}

    async def _move_totals(
        self, conn: AsyncConnection, deltas: Mapping[int, dict[str, int]]
    ) -> None:
        run_ids = sorted(r for r in deltas if any(deltas[r].values()))
        if not run_ids:
            return
        params: dict[str, Any]
        if self._pg:
            params = {"run_ids": run_ids}
            params.update({name: [deltas[r][name] for r in run_ids] for name in TOTALS})
        else:
            rows = [[r, *(deltas[r][name] for name in TOTALS)] for r in run_ids]
            params = {"rows": json.dumps(rows)}
        await conn.execute(self._sql.move_totals, params)

    async def _add_minutes(
        self, conn: AsyncConnection, deltas: Mapping[int, dict[str, int]], now: datetime
    ) -> None:
        """Final results into ``run_minutes`` (the rate chart and per-channel statistics)."""
        run_ids = sorted(r for r in deltas if any(deltas[r][name] for name in FINAL))
        if not run_ids:
            return
        params: dict[str, Any] = {"minute": now.replace(second=0, microsecond=0)}
        if self._pg:
            params["run_ids"] = run_ids
            params.update({name: [deltas[r][name] for r in run_ids] for name in FINAL})
        else:
            rows = [[r, *(deltas[r][name] for name in FINAL)] for r in run_ids]
            params["rows"] = json.dumps(rows)
        await conn.execute(self._sql.add_minutes, params)


def _same(value: Any) -> Any:
    return value


__all__ = ["SqlDeliveryQueue"]
