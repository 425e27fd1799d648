"""``SqlDeliveryRetention``: old per-recipient rows (deliveries, with their opens and clicks)
and old bounce messages deleted in small batches.

Plain SQL that PostgreSQL and SQLite both run (no ``ctid``, no partitions): for each run
that is over, the primary keys of its rows are cut into ranges of at most ``batch_size``
rows (one window-function scan of the run's index entries), and each range is deleted in
a transaction of its own. A batch holds row locks only on rows nobody else touches (the
run is over), and only for one short statement, so workers keep claiming and recording
while a purge runs; on SQLite, where a writer takes the whole database, the lock is given
back after every batch.

Every ``DELETE`` checks the run again, so a row of a running or paused run can never go,
whatever happened since the runs were listed. ``mailing_runs`` (and its totals, with
``run_tracking`` and ``run_links``) and the audit log are never written here.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.runs import RunStatus
from infrastructure.db.base import UTCDateTime

OVER = [
    s.value
    for s in (RunStatus.completed, RunStatus.cancelled, RunStatus.failed, RunStatus.skipped)
]
LAST = 2**62  # above every id: the upper end of a run's last range

_RUN_IS_OVER = "r.status IN :over AND r.finished_at < :cutoff"

# Per-delivery rows of a run: deliveries, and the opens and clicks counted per person
# (``delivery_tracking``, ``link_clicks``: their totals stay in ``run_tracking`` and
# ``run_links``). All three carry the delivery's id, so the same ranges cut them.
PER_DELIVERY = ("deliveries", "delivery_tracking", "link_clicks")
_ID = {"deliveries": "id", "delivery_tracking": "delivery_id", "link_clicks": "delivery_id"}

_HAS_ROWS = " OR ".join(
    f"EXISTS (SELECT 1 FROM {table} AS d WHERE d.run_id = r.id)"  # noqa: S608 (constants)
    for table in PER_DELIVERY
)
RUNS = text(
    "SELECT r.id FROM mailing_runs AS r"  # noqa: S608 (constants only)
    f" WHERE {_RUN_IS_OVER} AND ({_HAS_ROWS}) ORDER BY r.id"
).bindparams(bindparam("over", expanding=True), bindparam("cutoff", type_=UTCDateTime()))

# The first id of every ``:size`` rows of a run, in id order: the ranges to delete.
BOUNDS = text(
    "SELECT id FROM ("
    " SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM deliveries WHERE run_id = :run_id"
    ") AS numbered WHERE (n - 1) % :size = 0 ORDER BY id"
)

# Bounce messages read that long ago: each was marked in the mailbox long since, and
# the deliveries they name are going.
OLD_BOUNCES = text("DELETE FROM bounces WHERE received_at < :cutoff").bindparams(
    bindparam("cutoff", type_=UTCDateTime())
)


def _delete(table: str) -> TextClause:
    return text(
        f"DELETE FROM {table}"  # noqa: S608 (constants only)
        f" WHERE run_id = :run_id AND {_ID[table]} >= :lo AND {_ID[table]} < :hi"
        " AND EXISTS (SELECT 1 FROM mailing_runs AS r"
        f" WHERE r.id = :run_id AND {_RUN_IS_OVER})"
    ).bindparams(bindparam("over", expanding=True), bindparam("cutoff", type_=UTCDateTime()))


DELETE = {table: _delete(table) for table in PER_DELIVERY}


class SqlDeliveryRetention:
    """Implements ``domain.ports.retention.DeliveryRetention`` on PostgreSQL and SQLite."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def purge(self, finished_before: datetime, batch_size: int = 10_000) -> dict[int, int]:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        async with self._engine.connect() as conn:
            params = {"over": OVER, "cutoff": finished_before}
            run_ids = (await conn.execute(RUNS, params)).scalars().all()
        deleted: dict[int, int] = {}
        for run_id in run_ids:
            count = await self._purge_run(run_id, finished_before, batch_size)
            if count:
                deleted[run_id] = count
        async with self._engine.begin() as conn:
            await conn.execute(OLD_BOUNCES, {"cutoff": finished_before})
        return deleted

    async def _purge_run(self, run_id: int, cutoff: datetime, batch_size: int) -> int:
        """The run's delivery rows in ranges, with their opens and clicks; then whatever
        opens and clicks remain beyond them (a click on a mail whose row went earlier)."""
        async with self._engine.connect() as conn:
            bounds = {"run_id": run_id, "size": batch_size}
            starts = list((await conn.execute(BOUNDS, bounds)).scalars())
        count = 0
        ranges = zip([0, *starts], [*starts, LAST], strict=True)
        for lo, hi in ranges:
            async with self._engine.begin() as conn:
                params: dict[str, Any] = {
                    "run_id": run_id,
                    "lo": lo,
                    "hi": hi,
                    "over": OVER,
                    "cutoff": cutoff,
                }
                for table, delete in DELETE.items():
                    deleted = (await conn.execute(delete, params)).rowcount
                    count += deleted if table == "deliveries" else 0
            await asyncio.sleep(0)  # let the workers' transactions in between batches
        return count


__all__ = ["SqlDeliveryRetention"]
