"""``SqlAnswers``: recipients' answers to a run's answer buttons (``run_answers``).

A press counts only when it comes from a recipient with a delivered copy of the run and
on that very copy (its message id, kept per delivery); the answer is an upsert keyed by
(run, recipient), so a second press changes it and a repeated press changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.base import UTCDateTime
from infrastructure.db.models import RunAnswerRow

# The presser's delivered copy of the run (or of the edit's send run: same message id).
_COPY = text(
    "SELECT d.address_id FROM deliveries AS d JOIN addresses AS a ON a.id = d.address_id"
    " WHERE d.run_id = :run_id AND a.kind = 'telegram' AND a.value = :chat"
    " AND d.status = 'delivered' AND d.provider_message_id = :message_id"
)
_PREVIOUS = text(
    "SELECT option FROM run_answers WHERE run_id = :run_id AND address_id = :address_id"
)
_UPSERT = text(
    "INSERT INTO run_answers (run_id, address_id, option, presses, answered_at)"
    " VALUES (:run_id, :address_id, :option, 1, :now)"
    " ON CONFLICT (run_id, address_id) DO UPDATE SET option = excluded.option,"
    " presses = run_answers.presses + 1, answered_at = excluded.answered_at"
).bindparams(bindparam("now", type_=UTCDateTime()))


class SqlAnswers:
    """Implements ``domain.ports.answers.AnswerBook``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self, run_id: int, chat_id: int, message_id: int, option: int, now: datetime
    ) -> int | None:
        """The option answered before (-1: none), or ``None`` when the press is not from
        a delivered copy of the run (forged, stale, someone else's): nothing recorded."""
        params = {"run_id": run_id, "chat": str(chat_id), "message_id": str(message_id)}
        async with self._engine.begin() as conn:
            address_id = (await conn.execute(_COPY, params)).scalar()
            if address_id is None:
                return None
            key = {"run_id": run_id, "address_id": address_id}
            previous = (await conn.execute(_PREVIOUS, key)).scalar()
            await conn.execute(_UPSERT, {**key, "option": option, "now": now})
        return -1 if previous is None else int(previous)

    async def tally(self, run_id: int) -> dict[int, int]:
        stmt = (
            select(RunAnswerRow.option, func.count())
            .where(RunAnswerRow.run_id == run_id)
            .group_by(RunAnswerRow.option)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {int(option): int(count) for option, count in rows}


__all__ = ["SqlAnswers"]
