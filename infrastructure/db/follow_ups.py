"""``SqlFollowUps``: recall and edit runs in the ``deliveries`` work queue.

A follow-up run is started in one transaction with its rows (the run row, one delivery
per copy of the send run still in its chat with the copy's message id in
``provider_message_id``, the run's totals, status running): a crash leaves either nothing
or a complete run that any worker resumes. The statements are the same on both backends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.follow_ups import KEPT
from domain.media import message_ids
from domain.runs import FollowUpStart, MailingRun, RunKind, RunStatus
from infrastructure.db.base import UTCDateTime
from infrastructure.db.models import MailingRunRow

# The copies of the send run still in their chats: delivered, the message id kept, and not
# recalled by an earlier recall of the same run. ``:fresh`` picks those delivered at or
# after ``:kept_before`` (1) or before it (0).
_COPIES = """
SELECT CAST(:run_id AS BIGINT), d.address_id, CAST(:status AS VARCHAR(16)), 0,
       d.provider_message_id, CAST(:error AS TEXT)
FROM deliveries AS d
WHERE d.run_id = :source AND d.status = 'delivered' AND d.provider_message_id IS NOT NULL
  AND (CASE WHEN d.updated_at >= :kept_before THEN 1 ELSE 0 END) = :fresh
  AND NOT EXISTS (
    SELECT 1 FROM mailing_runs AS r JOIN deliveries AS x ON x.run_id = r.id
    WHERE r.source_run_id = :source AND r.kind = 'recall' AND r.id <> :run_id
      AND x.address_id = d.address_id AND x.status = 'delivered')
ORDER BY d.id
"""
_INSERT = text(
    "INSERT INTO deliveries (run_id, address_id, status, attempts, provider_message_id,"
    " last_error)" + _COPIES
).bindparams(bindparam("kept_before", type_=UTCDateTime()))
_TOTALS = text(
    "UPDATE mailing_runs SET pending = pending + :pending, failed = failed + :failed,"
    " status = 'running', note = :note WHERE id = :run_id"
)
_CLAIM_AUTODELETE = text(
    "UPDATE mailing_runs SET autodelete_at = NULL WHERE id = :source AND autodelete_at IS NOT NULL"
)
_DROP_RUN = text("DELETE FROM mailing_runs WHERE id = :run_id")
_FAR_PAST = datetime(1970, 1, 2, tzinfo=UTC)


class SqlFollowUps:
    """Implements ``domain.ports.follow_ups.FollowUpQueue`` on PostgreSQL and SQLite."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pg = engine.dialect.name == "postgresql"

    async def start(
        self, run: MailingRun, kept_before: datetime | None, *, auto: bool = False
    ) -> FollowUpStart | None:
        assert run.source_run_id is not None and run.kind is not RunKind.send
        async with self._engine.begin() as conn:
            if auto:  # the first to clear it starts the auto-delete; anyone else: nothing
                claimed = await conn.execute(_CLAIM_AUTODELETE, {"source": run.source_run_id})
                if not claimed.rowcount:
                    return None
            run_id = (
                await conn.execute(
                    insert(MailingRunRow)
                    .values(
                        mailing_id=run.mailing_id,
                        scheduled_for=run.scheduled_for,
                        status=RunStatus.paused.value,
                        content=run.content,
                        launched_by=run.launched_by,
                        is_test=False,
                        started_at=run.started_at,
                        kind=run.kind.value,
                        source_run_id=run.source_run_id,
                    )
                    .returning(MailingRunRow.id)
                )
            ).scalar_one()
            params: dict[str, Any] = {
                "run_id": run_id,
                "source": run.source_run_id,
                "kept_before": kept_before or _FAR_PAST,
            }
            new = {**params, "status": "pending", "error": None, "fresh": 1}
            fresh = await conn.execute(_INSERT, new)
            kept = 0
            if kept_before is not None:
                old = {**params, "status": "failed", "error": KEPT, "fresh": 0}
                kept = (await conn.execute(_INSERT, old)).rowcount
            pending = fresh.rowcount
            if not pending and not kept:
                if not auto:
                    await conn.rollback()
                    return None
                # Nothing to delete: the auto-delete is done (cleared) all the same.
                await conn.execute(_DROP_RUN, {"run_id": run_id})
                return None
            note = f"recipients={pending + kept} kept={kept}"
            totals = {"run_id": run_id, "pending": pending, "failed": kept, "note": note}
            await conn.execute(_TOTALS, totals)
        return FollowUpStart(run_id, pending, kept)

    async def targets(self, delivery_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        if not delivery_ids:
            return {}
        if self._pg:
            statement = text(
                "SELECT id, provider_message_id FROM deliveries"
                " WHERE id = ANY(CAST(:ids AS BIGINT[]))"
            )
            params: dict[str, Any] = {"ids": list(delivery_ids)}
        else:
            statement = text(
                "SELECT id, provider_message_id FROM deliveries"
                " WHERE id IN (SELECT value FROM json_each(:ids))"
            )
            params = {"ids": json.dumps(list(delivery_ids))}
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement, params)).all()
        found = {int(i): message_ids(m) for i, m in rows}
        return {i: ids for i, ids in found.items() if ids}


__all__ = ["SqlFollowUps"]
