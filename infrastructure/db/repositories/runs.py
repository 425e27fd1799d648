"""Runs of mailings, one per (mailing, slot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.mailings import Ownership
from domain.runs import MailingRun, ProgressMessage, RunKind, RunStatus, RunTotals
from infrastructure.db.models import MailingRow, MailingRunRow
from infrastructure.db.repositories._sql import execute_dml, upsert_insert

TOTALS = ("pending", "sending", "delivered", "failed", "refused")


def to_run(row: MailingRunRow) -> MailingRun:
    return MailingRun(
        mailing_id=row.mailing_id,
        scheduled_for=row.scheduled_for,
        content=dict(row.content),
        status=RunStatus(row.status),
        totals=RunTotals(**{name: getattr(row, name) for name in TOTALS}),
        launched_by=row.launched_by,
        is_test=row.is_test,
        note=row.note,
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        problem=(row.bulk_state or {}).get("problem") or row.problem,
        progress=_progress(row),
        kind=RunKind(row.kind),
        source_run_id=row.source_run_id,
        autodelete_at=row.autodelete_at,
        ab_due_at=row.ab_due_at,
        ab_result=dict(row.ab_result) if row.ab_result else None,
    )


def to_run_seen(
    row: MailingRunRow, owner_id: int, archived_at: datetime | None
) -> tuple[MailingRun, Ownership]:
    """A run and its mailing's ownership, from the run's row read beside the mailing's
    ``owner_id`` and ``archived_at`` (``get_with_ownership``, ``SqlTokenRunReader``)."""
    return to_run(row), Ownership(owner_id, archived_at is not None)


def send_runs(mailing_id: int) -> Select[MailingRunRow]:
    """A mailing's send runs (follow-ups left out), newest slot first."""
    return (
        select(MailingRunRow)
        .where(
            MailingRunRow.mailing_id == mailing_id,
            MailingRunRow.kind == RunKind.send.value,
        )
        .order_by(MailingRunRow.scheduled_for.desc(), MailingRunRow.id.desc())
    )


def _progress(row: MailingRunRow) -> ProgressMessage | None:
    if row.progress_chat_id is None or row.progress_message_id is None:
        return None
    return ProgressMessage(
        row.progress_chat_id, row.progress_message_id, row.progress_locale or ""
    )


def _columns(run: MailingRun) -> dict[str, Any]:
    return {
        "status": run.status.value,
        "content": run.content,
        "launched_by": run.launched_by,
        "is_test": run.is_test,
        "note": run.note,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "problem": run.problem,
    }


class SqlRunRepository:
    """``update`` never writes totals: workers change them concurrently, with
    increments in each batch's transaction (see ``add_to_totals``), and writing back a
    run loaded earlier would lose their counts.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, run_id: int) -> MailingRun | None:
        row = await self._session.get(MailingRunRow, run_id, populate_existing=True)
        return to_run(row) if row is not None else None

    async def get_with_ownership(self, run_id: int) -> tuple[MailingRun, Ownership] | None:
        stmt = (
            select(MailingRunRow, MailingRow.owner_id, MailingRow.archived_at)
            .join(MailingRow, MailingRow.id == MailingRunRow.mailing_id)
            .where(MailingRunRow.id == run_id)
            .execution_options(populate_existing=True)
        )
        found = (await self._session.execute(stmt)).first()
        if found is None:
            return None
        return to_run_seen(*found)

    async def add(self, run: MailingRun) -> MailingRun | None:
        totals = {name: getattr(run.totals, name) for name in TOTALS}
        stmt = (
            upsert_insert(self._session, MailingRunRow)
            .values(
                mailing_id=run.mailing_id,
                scheduled_for=run.scheduled_for,
                **totals,
                kind=run.kind.value,
                source_run_id=run.source_run_id,
                autodelete_at=run.autodelete_at,
                ab_due_at=run.ab_due_at,
                **_columns(run),
            )
            .on_conflict_do_nothing(index_elements=["mailing_id", "scheduled_for"])
            .returning(MailingRunRow.id)
        )
        run_id = (await self._session.execute(stmt)).scalar_one_or_none()
        if run_id is None:
            return None
        run.id = run_id
        return run

    async def update(self, run: MailingRun) -> None:
        stmt = (
            update(MailingRunRow)
            .where(MailingRunRow.id == run.id)
            .values(**_columns(run))
            .execution_options(synchronize_session=False)
        )
        if not await execute_dml(self._session, stmt):
            raise NotFound("error-not-found", run_id=run.id)

    async def add_to_totals(self, run_id: int, delta: RunTotals) -> None:
        """Shift counts atomically, e.g. ``RunTotals(pending=-10, delivered=10)``."""
        changes = {
            name: getattr(MailingRunRow, name) + getattr(delta, name)
            for name in TOTALS
            if getattr(delta, name)
        }
        if changes:
            stmt = update(MailingRunRow).where(MailingRunRow.id == run_id).values(changes)
            await execute_dml(self._session, stmt.execution_options(synchronize_session=False))

    async def for_mailing(self, mailing_id: int, limit: int = 20) -> list[MailingRun]:
        """Send runs (follow-ups are found by ``follow_ups``), newest slot first."""
        stmt = send_runs(mailing_id).limit(limit)
        return [to_run(row) for row in await self._session.scalars(stmt)]

    async def complete_drained(self, now: datetime) -> list[MailingRun]:
        # On PostgreSQL a second transaction waits for the first one's row lock, then
        # finds the run no longer running and leaves it.
        stmt = (
            update(MailingRunRow)
            .where(
                MailingRunRow.status == RunStatus.running.value,
                MailingRunRow.pending == 0,
                MailingRunRow.sending == 0,
            )
            .values(status=RunStatus.completed.value, finished_at=now)
            .returning(MailingRunRow.id)
            .execution_options(synchronize_session=False)
        )
        ids = sorted((await self._session.execute(stmt)).scalars().all())
        return [run for run_id in ids if (run := await self.get(run_id)) is not None]

    async def show_progress(self, run_id: int, message: ProgressMessage | None) -> None:
        values = {
            "progress_chat_id": message.chat_id if message else None,
            "progress_message_id": message.message_id if message else None,
            "progress_locale": message.locale if message else None,
        }
        stmt = update(MailingRunRow).where(MailingRunRow.id == run_id).values(**values)
        await execute_dml(self._session, stmt.execution_options(synchronize_session=False))

    async def with_progress(self) -> list[MailingRun]:
        """Oldest first."""
        stmt = (
            select(MailingRunRow)
            .where(MailingRunRow.progress_message_id.is_not(None))
            .order_by(MailingRunRow.id)
        )
        return [to_run(row) for row in await self._session.scalars(stmt)]

    async def with_status(self, status: RunStatus) -> list[MailingRun]:
        """Oldest first."""
        stmt = (
            select(MailingRunRow)
            .where(MailingRunRow.status == status.value)
            .order_by(MailingRunRow.id)
        )
        return [to_run(row) for row in await self._session.scalars(stmt)]

    async def last_for_mailing(self, mailing_id: int) -> MailingRun | None:
        runs = await self.for_mailing(mailing_id, limit=1)
        return runs[0] if runs else None

    async def follow_ups(self, source_run_id: int) -> list[MailingRun]:
        """The recalls and edits of a send run, oldest first."""
        stmt = (
            select(MailingRunRow)
            .where(MailingRunRow.source_run_id == source_run_id)
            .order_by(MailingRunRow.id)
        )
        return [to_run(row) for row in await self._session.scalars(stmt)]

    async def due_autodeletes(self, now: datetime) -> list[MailingRun]:
        """Finished send runs whose auto-delete is due, oldest first."""
        stmt = (
            select(MailingRunRow)
            .where(
                MailingRunRow.autodelete_at <= now,
                MailingRunRow.status.in_(
                    [RunStatus.completed.value, RunStatus.cancelled.value, RunStatus.failed.value]
                ),
            )
            .order_by(MailingRunRow.id)
        )
        return [to_run(row) for row in await self._session.scalars(stmt)]
