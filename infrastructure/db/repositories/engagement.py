"""Bounces, opens and clicks in SQL (``domain.engagement``'s ports).

Every count is an increment in the caller's transaction (never a read-modify-write), so
concurrent clicks and the bounce reader never lose one another's counts. "First" is an
``INSERT … ON CONFLICT`` whose ``RETURNING`` tells whether the row is new or, for the
per-delivery rows, the counter's new value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.bounces import BounceKind, BounceReport, SoftStreak
from domain.engagement import ClickCount, DeliveryRef, FirstClicks
from domain.runs import DeliveryStatus
from infrastructure.db.models import (
    AddressRow,
    BounceRow,
    DeliveryRow,
    DeliveryTrackingRow,
    LinkClickRow,
    MailingRunRow,
    RunLinkRow,
    RunTrackingRow,
)
from infrastructure.db.repositories._sql import execute_dml, upsert_insert

CHUNK = 1000  # rows per statement: far below either backend's limit of bound parameters
RUN_COUNTERS = frozenset(
    {"opened", "clicked", "clicks", "bot_clicks", "bounced", "soft_bounced", "complained"}
)
LINK_COUNTERS = frozenset({"clicks", "unique_clicks", "bot_clicks"})
T = TypeVar("T")
FIRST_CLICK = cast(Table, DeliveryTrackingRow.__table__).c.clicked_at


class SqlDeliveries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def delivery(self, delivery_id: int) -> DeliveryRef | None:
        row = (
            await self._session.execute(
                select(
                    DeliveryRow.run_id,
                    DeliveryRow.address_id,
                    DeliveryRow.status,
                    DeliveryRow.updated_at,
                ).where(DeliveryRow.id == delivery_id)
            )
        ).one_or_none()
        if row is None:
            return None
        return DeliveryRef(delivery_id, row[0], row[1], DeliveryStatus(row[2]), row[3])


class SqlBounceStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, report: BounceReport, target: DeliveryRef | None) -> bool:
        stmt = (
            upsert_insert(self._session, BounceRow)
            .values(
                message_key=report.key,
                kind=report.kind.value,
                delivery_id=report.delivery_id,
                run_id=target.run_id if target else None,
                address_id=target.address_id if target else None,
                status=report.status,
                reason=report.reason or None,
                recipient=(report.recipient or "")[:512] or None,
            )
            .on_conflict_do_nothing(index_elements=["message_key"])
            .returning(BounceRow.id)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none() is not None

    async def seen(self, delivery_id: int, kinds: tuple[str, ...], key: str) -> bool:
        found = await self._session.execute(
            select(BounceRow.id)
            .where(
                BounceRow.delivery_id == delivery_id,
                BounceRow.kind.in_(kinds),
                BounceRow.message_key != key,
            )
            .limit(1)
        )
        return found.first() is not None

    async def refuse(self, target: DeliveryRef, reason: str, now: datetime) -> bool:
        moved = await execute_dml(
            self._session,
            update(DeliveryRow)
            .where(
                DeliveryRow.id == target.delivery_id,
                DeliveryRow.status == DeliveryStatus.delivered.value,
            )
            .values(status=DeliveryStatus.refused.value, last_error=reason, updated_at=now),
        )
        if moved:
            await self._session.execute(
                update(MailingRunRow)
                .where(MailingRunRow.id == target.run_id)
                .values(delivered=MailingRunRow.delivered - 1, refused=MailingRunRow.refused + 1)
            )
        return bool(moved)

    async def note(self, delivery_id: int, reason: str) -> None:
        await self._session.execute(
            update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(last_error=reason)
        )

    async def soft_streak(self, address_id: int) -> SoftStreak:
        row = (
            await self._session.execute(
                select(AddressRow.soft_bounces, AddressRow.soft_bounce_run_id).where(
                    AddressRow.id == address_id
                )
            )
        ).one_or_none()
        return SoftStreak(row[0], row[1]) if row is not None else SoftStreak()

    async def set_soft_streak(self, address_id: int, streak: SoftStreak) -> None:
        await self._session.execute(
            update(AddressRow)
            .where(AddressRow.id == address_id)
            .values(soft_bounces=streak.count, soft_bounce_run_id=streak.run_id)
        )

    async def got_through(self, address_id: int, after_run: int, before_run: int) -> bool:
        # Runs by primary key, then the (run_id, address_id) unique index per run: a few
        # point lookups, never a scan of the runs' deliveries.
        d = DeliveryRow
        bounced = select(BounceRow.id).where(
            BounceRow.delivery_id == d.id,
            BounceRow.kind.in_((BounceKind.hard.value, BounceKind.soft.value)),
        )
        stmt = (
            select(d.id)
            .join(MailingRunRow, MailingRunRow.id == d.run_id)
            .where(
                MailingRunRow.id > after_run,
                MailingRunRow.id < before_run,
                d.address_id == address_id,
                d.status == DeliveryStatus.delivered.value,
                ~bounced.exists(),
            )
            .limit(1)
        )
        return (await self._session.execute(stmt)).first() is not None

    async def suppress(self, address_id: int, now: datetime) -> None:
        await self._session.execute(
            update(AddressRow)
            .where(AddressRow.id == address_id, AddressRow.refused_at.is_(None))
            .values(refused_at=now)
        )

    async def unsubscribe(self, address_id: int, now: datetime) -> None:
        await self._session.execute(
            update(AddressRow)
            .where(AddressRow.id == address_id, AddressRow.unsubscribed_at.is_(None))
            .values(unsubscribed_at=now)
        )


class SqlTrackingStore(SqlDeliveries):
    async def run_content(self, run_id: int) -> dict[str, object] | None:
        content = await self._session.scalar(
            select(MailingRunRow.content).where(MailingRunRow.id == run_id)
        )
        return dict(content) if content is not None else None

    async def deliveries(self, delivery_ids: Collection[int]) -> dict[int, DeliveryRef]:
        d, ids, found = DeliveryRow, sorted(set(delivery_ids)), {}
        for part in _chunks(ids):
            rows = await self._session.execute(
                select(d.id, d.run_id, d.address_id, d.status, d.updated_at).where(d.id.in_(part))
            )
            for row in rows:
                found[row[0]] = DeliveryRef(row[0], row[1], row[2], DeliveryStatus(row[3]), row[4])
        return found

    async def first_open(self, run_id: int, delivery_id: int, now: datetime) -> bool:
        t = DeliveryTrackingRow
        stmt = upsert_insert(self._session, t).values(
            delivery_id=delivery_id, run_id=run_id, opened_at=now, opens=1
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=["delivery_id"],
            set_={"opens": t.opens + 1, "opened_at": func.coalesce(t.opened_at, now)},
        )
        return (await self._session.execute(upsert.returning(t.opens))).scalar_one() == 1

    async def add_clicks(self, counts: Sequence[ClickCount]) -> FirstClicks:
        """One multi-row ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per table (per
        ``CHUNK`` rows): a row whose counter came back equal to what this batch added had
        none before, so this batch made its first click. ``counts`` repeat no (delivery,
        link)."""
        per_delivery: dict[int, dict[str, Any]] = {}
        for c in counts:
            row = per_delivery.setdefault(
                c.delivery_id,
                {"delivery_id": c.delivery_id, "run_id": c.run_id, "clicks": 0,
                 "clicked_at": c.first_at},
            )  # fmt: skip
            row["clicks"] += c.count
            row["clicked_at"] = min(row["clicked_at"], c.first_at)
        first_deliveries = await self._upsert_counts(
            DeliveryTrackingRow,
            list(per_delivery.values()),
            keys=("delivery_id",),
            changes={"clicked_at": lambda new: func.coalesce(FIRST_CLICK, new.clicked_at)},
        )
        first_links = await self._upsert_counts(
            LinkClickRow,
            [
                {
                    "delivery_id": c.delivery_id,
                    "link_index": c.index,
                    "run_id": c.run_id,
                    "clicks": c.count,
                    "first_at": c.first_at,
                }
                for c in counts
            ],
            keys=("delivery_id", "link_index"),
        )
        return FirstClicks(
            frozenset(key[0] for key in first_deliveries),
            frozenset((key[0], key[1]) for key in first_links),
        )

    async def _upsert_counts(
        self,
        table: type[DeliveryTrackingRow] | type[LinkClickRow],
        rows: list[dict[str, Any]],
        keys: tuple[str, ...],
        changes: dict[str, Callable[[Any], Any]] | None = None,
    ) -> set[tuple[int, ...]]:
        """Add each row's ``clicks`` to its row (made if missing); the keys of the rows
        that had no clicks before. ``rows`` must not repeat a key."""
        if not rows:
            return set()
        core_table = cast(Table, table.__table__)
        core = core_table.c
        stmt = upsert_insert(self._session, core_table)
        extra = {name: make(stmt.excluded) for name, make in (changes or {}).items()}
        upsert = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={"clicks": core.clicks + stmt.excluded.clicks, **extra},
        ).returning(*(core[key] for key in keys), core.clicks)
        # Executed with a list of rows, SQLAlchemy compiles the statement once and sends
        # the rows as multi-row VALUES in pages ("insertmanyvalues"), RETURNING included;
        # on the Core table, not the ORM class, whose bulk path costs far more Python.
        added = {tuple(row[key] for key in keys): row["clicks"] for row in rows}
        result = await self._session.execute(upsert, rows)
        return {tuple(key) for *key, total in result if total == added[tuple(key)]}

    async def add_to_link(self, run_id: int, index: int, **counts: int) -> None:
        assert set(counts) <= LINK_COUNTERS
        stmt = upsert_insert(self._session, RunLinkRow).values(
            run_id=run_id, link_index=index, **counts
        )
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=["run_id", "link_index"],
                set_={name: getattr(RunLinkRow, name) + n for name, n in counts.items()},
            )
        )

    async def add_to_run(self, run_id: int, **counts: int) -> None:
        assert set(counts) <= RUN_COUNTERS
        exists = select(MailingRunRow.id).where(MailingRunRow.id == run_id)
        if await self._session.scalar(exists) is None:
            return  # the run (its mailing) was deleted meanwhile: nothing to count on
        stmt = upsert_insert(self._session, RunTrackingRow).values(run_id=run_id, **counts)
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=["run_id"],
                set_={name: getattr(RunTrackingRow, name) + n for name, n in counts.items()},
            )
        )

    async def reset_soft_bounces(self, address_ids: Collection[int]) -> None:
        for part in _chunks(sorted(set(address_ids))):
            await self._session.execute(
                update(AddressRow)
                .where(and_(AddressRow.id.in_(part), AddressRow.soft_bounces != 0))
                .values(soft_bounces=0, soft_bounce_run_id=None)
            )


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
