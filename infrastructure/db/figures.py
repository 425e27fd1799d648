"""Operational figures read at scrape time for ``/metrics`` and ``/healthz``.

Everything comes from the run totals on ``mailing_runs`` (exact, kept in the same
transaction as each batch's results), never from counting ``deliveries`` rows, so a scrape
costs the same with ten recipients or ten million. Only counts leave this module: no
address, name or message text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Float, case, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from domain.runs import RunStatus
from infrastructure.db.models import MailingRow, MailingRunRow

STATUSES = ("pending", "sending", "delivered", "failed", "refused")
# Upper bounds (seconds) of the run-duration histogram: a minute to a day.
DURATION_BUCKETS = (1.0, 10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 3 * 3600.0, 6 * 3600.0,
                    12 * 3600.0, 24 * 3600.0)  # fmt: skip


@dataclass(frozen=True)
class Durations:
    """Cumulative histogram of finished runs: ``buckets[i]`` runs took at most ``bounds[i]``."""

    bounds: tuple[float, ...]
    buckets: tuple[int, ...]
    count: int = 0
    total_seconds: float = 0.0


@dataclass(frozen=True)
class Figures:
    messages: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status)
    runs: dict[str, int] = field(default_factory=dict)  # run status -> runs
    queue_depth: int = 0  # pending deliveries of running runs
    durations: Durations = Durations((), ())


class SqlFigures:
    """Reads ``Figures`` with four aggregate queries on PostgreSQL or SQLite."""

    def __init__(self, engine: AsyncEngine, bounds: Sequence[float] = DURATION_BUCKETS) -> None:
        self._engine = engine
        self._bounds = tuple(bounds)

    async def ping(self) -> None:
        """``SELECT 1``: raises if the database does not answer (the caller sets a timeout)."""
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def read(self) -> Figures:
        runs = MailingRunRow
        async with self._engine.connect() as connection:
            sums = [func.coalesce(func.sum(getattr(runs, s)), 0) for s in STATUSES]
            by_channel = (
                select(MailingRow.channel, *sums)
                .join(MailingRow, MailingRow.id == runs.mailing_id)
                .group_by(MailingRow.channel)
            )
            messages = {
                (row[0], status): int(value)
                for row in await connection.execute(by_channel)
                for status, value in zip(STATUSES, row[1:], strict=True)
            }
            by_status = select(runs.status, func.count()).group_by(runs.status)
            run_counts = {s: int(n) for s, n in await connection.execute(by_status)}
            depth = select(func.coalesce(func.sum(runs.pending), 0)).where(
                runs.status == RunStatus.running.value
            )
            queue_depth = int((await connection.execute(depth)).scalar_one())
            durations = await self._durations(connection)
        return Figures(messages, run_counts, queue_depth, durations)

    async def _durations(self, connection: AsyncConnection) -> Durations:
        seconds = self._seconds().label("seconds")
        finished = (
            select(seconds)
            .where(MailingRunRow.started_at.is_not(None), MailingRunRow.finished_at.is_not(None))
            .subquery()
        )
        col = finished.c.seconds
        in_buckets = [func.sum(case((col <= b, 1), else_=0)) for b in self._bounds]
        query = select(func.count(col), func.sum(col), *in_buckets)
        count, total, *buckets = (_number(v) for v in (await connection.execute(query)).one())
        return Durations(self._bounds, tuple(int(n) for n in buckets), int(count), total)

    def _seconds(self) -> ColumnElement[float]:
        start, end = MailingRunRow.started_at, MailingRunRow.finished_at
        if self._engine.dialect.name == "postgresql":
            return cast(func.extract("epoch", end - start), Float)
        # SQLite keeps naive UTC text; julianday() reads it, in days.
        return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)


def _number(value: object) -> float:
    """Aggregates come back as int, float or Decimal (NULL over no rows)."""
    return float(value) if isinstance(value, int | float | Decimal) else 0.0
