"""The read side of statistics: runs, ``run_minutes`` and, for details only, deliveries;
read outside the unit of work (``domain.ports.stats``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, null, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from domain.bounces import ACTIONABLE, BounceKind
from domain.engagement import LinkClicks, RunEngagement
from domain.failures import ReasonTally
from domain.follow_ups import KEPT
from domain.mailings import Channel
from domain.pagination import Page
from domain.runs import DeliveryStatus, MailingRun, RunKind
from domain.stats import DaySends, ExportRow, FailureReason, MinuteSends, Sends, local_days
from infrastructure.db.engine import create_session_factory
from infrastructure.db.models import (
    AddressRow,
    BounceRow,
    DeliveryRow,
    DeliveryTrackingRow,
    MailingRow,
    MailingRunRow,
    RunAnswerRow,
    RunLinkRow,
    RunMinuteRow,
    RunTrackingRow,
)
from infrastructure.db.repositories._sql import fetch_page
from infrastructure.db.repositories.engagement import SqlTrackingStore
from infrastructure.db.repositories.runs import send_runs, to_run

M = RunMinuteRow
SUMS = (func.sum(M.delivered), func.sum(M.failed), func.sum(M.refused))


def _sends(row: Any) -> Sends:
    delivered, failed, refused = row
    return Sends(int(delivered or 0), int(failed or 0), int(refused or 0))


class SqlStatsReader:
    """Implements ``domain.ports.stats.StatsReader`` and ``EngagementReader``: each call
    reads in a short session of its own, outside any unit of work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = create_session_factory(engine)
        self._dialect = engine.dialect.name

    async def runs_page(self, mailing_id: int, page: int, size: int) -> Page[MailingRun]:
        async with self._sessions() as session:
            return await fetch_page(session, send_runs(mailing_id), page, size, to_run)

    async def rate(self, run_id: int) -> list[MinuteSends]:
        async with self._sessions() as session:
            stmt = (
                select(M.minute, *SUMS)
                .where(M.run_id == run_id)
                .group_by(M.minute)
                .order_by(M.minute)
            )
            rows = await session.execute(stmt)
            return [MinuteSends(minute, _sends(sums)) for minute, *sums in rows]

    async def failure_reasons(self, run_id: int, limit: int) -> list[FailureReason]:
        """Grouped by kind (``domain.failures``): the database counts each distinct text,
        which, when servers name the address, is one per recipient; they are streamed
        and folded here, never held at once."""
        async with self._sessions() as session:
            d = DeliveryRow
            error = func.coalesce(d.last_error, "")
            stmt = (
                select(d.status, error, func.count())
                .where(d.run_id == run_id, d.status.in_(("failed", "refused")))
                .group_by(d.status, error)
                .execution_options(yield_per=1000)
            )
            tally = ReasonTally()
            async for status, text, n in await session.stream(stmt):
                tally.add(status, text, int(n))
            return tally.top(limit)

    async def has_deliveries(self, run_id: int) -> bool:
        async with self._sessions() as session:
            stmt = select(exists().where(DeliveryRow.run_id == run_id))
            return bool((await session.execute(stmt)).scalar_one())

    async def possibly_twice(self, run_id: int) -> int:
        async with self._sessions() as session:
            d = DeliveryRow  # the partial index ix_deliveries_run_id_answer_lost finds them
            stmt = select(func.count()).where(
                d.run_id == run_id, d.answer_lost, d.status == DeliveryStatus.delivered.value
            )
            return int((await session.execute(stmt)).scalar_one())

    async def channel_sends(
        self, since: datetime, *, with_tests: bool = False
    ) -> dict[Channel, Sends]:
        async with self._sessions() as session:
            stmt = select(M.channel, *SUMS).where(M.minute >= since, *_counted(with_tests))
            rows = await session.execute(stmt.group_by(M.channel))
            return {Channel(channel): _sends(sums) for channel, *sums in rows}

    async def daily_sends(
        self, since: datetime, tz: tzinfo, *, with_tests: bool = False
    ) -> list[DaySends]:
        """Summed per UTC hour here, then into days in ``tz`` (``domain.stats.local_days``):
        an hour is the finest step of every time zone's offset that matters here, and the
        database needs no time zone data (SQLite has none)."""
        async with self._sessions() as session:
            hour = self._hour(M.minute).label("hour")
            stmt = select(hour, M.channel, *SUMS).where(M.minute >= since, *_counted(with_tests))
            rows = await session.execute(stmt.group_by(hour, M.channel))
            hours = [DaySends(_hour_start(h), Channel(ch), _sends(sums)) for h, ch, *sums in rows]
            return local_days(hours, tz)

    def _hour(self, minute: Any) -> ColumnElement[Any]:
        if self._dialect == "postgresql":
            return func.date_trunc("hour", func.timezone("UTC", minute))
        return func.substr(minute, 1, 13)  # SQLite keeps naive UTC text: 'YYYY-MM-DD HH…'

    @staticmethod
    async def _follow_ups_of(session: AsyncSession, run_id: int) -> tuple[bool, bool]:
        """Whether the run has a recall, and answers."""
        r, a = MailingRunRow, RunAnswerRow
        recall = exists().where(r.source_run_id == run_id, r.kind == RunKind.recall.value)
        answer = exists().where(a.run_id == run_id)
        row = (await session.execute(select(recall, answer))).one()
        return bool(row[0]), bool(row[1])

    async def export_rows(
        self, run_id: int, after_id: int, limit: int, status: DeliveryStatus | None = None
    ) -> list[ExportRow]:
        async with self._sessions() as session:
            d, tracked = DeliveryRow, DeliveryTrackingRow
            # Most runs were never recalled nor answered: their report skips both lookups
            # (two per row would halve its speed, bench/export.py).
            recalled, answered = await self._follow_ups_of(session, run_id)
            stmt = (
                select(
                    d.id,
                    AddressRow.value,
                    MailingRow.channel,
                    d.status,
                    d.attempts,
                    d.last_error,
                    d.updated_at,
                    _telling_bounce(BounceRow.kind),
                    _telling_bounce(BounceRow.reason),
                    tracked.opened_at,
                    func.coalesce(tracked.clicks, 0),
                    d.variant,
                    _recall_state() if recalled else null(),
                    _answer_option() if answered else null(),
                    d.answer_lost & (d.status == DeliveryStatus.delivered.value),  # 0/1 on SQLite
                )
                .join(AddressRow, AddressRow.id == d.address_id)
                .join(MailingRunRow, MailingRunRow.id == d.run_id)
                .join(MailingRow, MailingRow.id == MailingRunRow.mailing_id)
                .outerjoin(tracked, tracked.delivery_id == d.id)
                .where(d.run_id == run_id, d.id > after_id)
                .order_by(d.id)
                .limit(limit)
            )
            if status is not None:
                stmt = stmt.where(d.status == status.value)
            rows = await session.execute(stmt)
            return [_export_row(*row) for row in rows]

    # -- EngagementReader

    async def run_content(self, run_id: int) -> dict[str, object] | None:
        async with self._sessions() as session:
            return await SqlTrackingStore(session).run_content(run_id)

    async def engagement(self, run_id: int) -> RunEngagement:
        async with self._sessions() as session:
            row = await session.get(RunTrackingRow, run_id)
        if row is None:
            return RunEngagement()
        return RunEngagement(
            **{name: getattr(row, name) for name in RunEngagement.__dataclass_fields__}
        )

    async def link_clicks(self, run_id: int) -> dict[int, LinkClicks]:
        async with self._sessions() as session:
            rows = await session.scalars(select(RunLinkRow).where(RunLinkRow.run_id == run_id))
            return {
                row.link_index: LinkClicks(
                    row.link_index, "", row.clicks, row.unique_clicks, row.bot_clicks
                )
                for row in rows
            }


def _export_row(*columns: Any) -> ExportRow:
    """The selected columns in ``ExportRow``'s order, the possible-duplicate flag last."""
    *fields, twice = columns
    return replace(ExportRow(*fields), possibly_twice=bool(twice))


_COUNTED_BOUNCES = sorted(k.value for k in ACTIONABLE)
# The bounce that says most about a delivery: a hard one, else a complaint, else the
# latest soft one (a lookup by ``ix_bounces_delivery_id`` per exported row).
_BOUNCE_ORDER = case(
    (BounceRow.kind == BounceKind.hard.value, 0),
    (BounceRow.kind == BounceKind.complaint.value, 1),
    else_=2,
)


def _telling_bounce(column: Any) -> Any:
    return (
        select(column)
        .where(BounceRow.delivery_id == DeliveryRow.id, BounceRow.kind.in_(_COUNTED_BOUNCES))
        .order_by(_BOUNCE_ORDER, BounceRow.id.desc())
        .limit(1)
        .correlate(DeliveryRow)
        .scalar_subquery()
    )


def _recall_state() -> Any:
    """What the latest recall of the run did to the recipient's copy (``RECALL_STATES``),
    ``NULL`` if none touched it."""
    x, r = aliased(DeliveryRow), aliased(MailingRunRow)
    state = case(
        (x.status == "delivered", "deleted"),
        (x.last_error == KEPT, "kept"),
        (x.status.in_(("pending", "sending")), "deleting"),
        else_="not deleted",
    )
    return (
        select(state)
        .join(r, r.id == x.run_id)
        .where(
            r.source_run_id == DeliveryRow.run_id,
            r.kind == RunKind.recall.value,
            x.address_id == DeliveryRow.address_id,
        )
        .order_by(x.id.desc())
        .limit(1)
        .correlate(DeliveryRow)
        .scalar_subquery()
    )


def _answer_option() -> Any:
    """The answer button the recipient pressed last (its number), ``NULL`` if none."""
    a = RunAnswerRow
    return (
        select(a.option)
        .where(a.run_id == DeliveryRow.run_id, a.address_id == DeliveryRow.address_id)
        .correlate(DeliveryRow)
        .scalar_subquery()
    )


def _counted(with_tests: bool) -> list[ColumnElement[bool]]:
    """Sends of real runs only, unless test sends are asked for too."""
    if with_tests:
        return []
    real = select(MailingRunRow.id).where(MailingRunRow.is_test.is_(False))
    return [M.run_id.in_(real)]


def _hour_start(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite: 'YYYY-MM-DD HH'
        value = datetime.strptime(value, "%Y-%m-%d %H")
    return value.replace(tzinfo=UTC)
