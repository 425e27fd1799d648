"""Retention: per-recipient delivery rows of old runs are deleted, their totals stay;
sent webhook events leave the outbox.

``deliveries`` grows by a whole list per run. Progress, statistics and charts read the
totals kept on ``mailing_runs``, so the per-recipient rows are only needed for a while
(exports, questions about one recipient); after ``DELIVERY_RETENTION_DAYS`` they go.

The webhook outbox grows by a row per event and endpoint (a refusal each, on a big run
many). A sent row is never read again, so it goes after ``domain.webhooks.SENT_KEPT``;
pending rows are still to send and failed ones are kept for the admin to see.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.clock import Clock, SystemClock
from domain.ports.retention import DeliveryRetention
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.access import record
from domain.webhooks import SENT_KEPT

log = logging.getLogger(__name__)
BATCH_ROWS = 10_000  # rows per transaction: short enough that sending never waits long


@dataclass(frozen=True, slots=True)
class Purged:
    finished_before: datetime | None  # None: retention is off
    rows: int = 0
    runs: int = 0


async def purge_deliveries(
    uow_factory: UnitOfWorkFactory,
    retention: DeliveryRetention,
    *,
    days: int,
    clock: Clock | None = None,
    batch_size: int = BATCH_ROWS,
) -> Purged:
    """Delete the delivery rows of runs finished more than ``days`` ago (``0``: keep them
    for ever). A purge that deleted something is written to the audit log as ``run.purge``
    with the counts."""
    if days <= 0:
        return Purged(None)
    cutoff = (clock or SystemClock()).now() - timedelta(days=days)
    per_run = await retention.purge(cutoff, batch_size)
    purged = Purged(cutoff, rows=sum(per_run.values()), runs=len(per_run))
    if purged.rows:
        async with uow_factory() as uow:
            details = {
                "rows": purged.rows,
                "runs": purged.runs,
                "days": days,
                "finished_before": cutoff.isoformat(),
            }
            await record(uow, None, "run.purge", ("deliveries", "retention"), details)
            await uow.commit()
    log.info(
        "Retention: %d delivery rows of %d runs finished before %s deleted",
        purged.rows,
        purged.runs,
        cutoff.isoformat(),
        extra={"rows": purged.rows, "runs": purged.runs, "retention_days": days},
    )
    return purged


async def purge_sent_events(
    uow_factory: UnitOfWorkFactory,
    *,
    kept: timedelta = SENT_KEPT,
    clock: Clock | None = None,
    batch_size: int = BATCH_ROWS,
) -> int:
    """Delete the webhook outbox rows sent and created more than ``kept`` ago, a batch per
    transaction (the sender's claims never wait long); how many went."""
    cutoff = (clock or SystemClock()).now() - kept
    deleted = 0
    while True:
        async with uow_factory() as uow:
            count = await uow.webhooks.purge_sent(cutoff, batch_size)
            await uow.commit()
        deleted += count
        if count < batch_size:
            break
    log.info(
        "Retention: %d sent webhook events created before %s deleted",
        deleted,
        cutoff.isoformat(),
        extra={"rows": deleted},
    )
    return deleted
