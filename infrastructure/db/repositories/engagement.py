"""Bounces, opens and clicks in SQL (``domain.engagement``'s ports).

Every count is an increment in the caller's transaction (never a read-modify-write), so
concurrent clicks and the bounce reader never lose one another's counts. "First" is an
``INSERT … ON CONFLICT`` whose ``RETURNING`` tells whether the row is new or, for the
per-delivery rows, the counter's new value.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.bounces import BounceReport
from domain.engagement import DeliveryRef, LinkClicks, RunEngagement
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

RUN_COUNTERS = frozenset(
    {"opened", "clicked", "clicks", "bot_clicks", "bounced", "soft_bounced", "complained"}
)
LINK_COUNTERS = frozenset({"clicks", "unique_clicks", "bot_clicks"})


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

    async def add_soft_bounce(self, address_id: int) -> int:
        stmt = (
            update(AddressRow)
            .where(AddressRow.id == address_id)
            .values(soft_bounces=AddressRow.soft_bounces + 1)
            .returning(AddressRow.soft_bounces)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none() or 0

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

    async def first_open(self, run_id: int, delivery_id: int, now: datetime) -> bool:
        values = {"delivery_id": delivery_id, "run_id": run_id, "opened_at": now}
        return await self._bump(DeliveryTrackingRow, values, "opens", "opened_at") == 1

    async def first_click(
        self, run_id: int, delivery_id: int, index: int, now: datetime
    ) -> tuple[bool, bool]:
        values = {"delivery_id": delivery_id, "run_id": run_id, "clicked_at": now}
        first = await self._bump(DeliveryTrackingRow, values, "clicks", "clicked_at") == 1
        on_link = {**values, "link_index": index, "first_at": now}
        del on_link["clicked_at"]
        return first, await self._bump(LinkClickRow, on_link, "clicks") == 1

    async def _bump(
        self,
        table: type[DeliveryTrackingRow] | type[LinkClickRow],
        values: dict[str, object],
        counter: str,
        first_at: str | None = None,
    ) -> int:
        """Insert the row with ``counter`` at 1, or add 1 to it (keeping the first time);
        the counter's new value."""
        keys = [key.name for key in table.__table__.primary_key]
        stmt = upsert_insert(self._session, table).values(**values, **{counter: 1})
        changes: dict[str, object] = {counter: getattr(table, counter) + 1}
        if first_at is not None:
            changes[first_at] = func.coalesce(getattr(table, first_at), values[first_at])
        upsert = stmt.on_conflict_do_update(index_elements=keys, set_=changes)
        result = await self._session.execute(upsert.returning(getattr(table, counter)))
        return int(result.scalar_one())

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

    async def reset_soft_bounces(self, address_id: int) -> None:
        await self._session.execute(
            update(AddressRow)
            .where(and_(AddressRow.id == address_id, AddressRow.soft_bounces != 0))
            .values(soft_bounces=0)
        )

    async def engagement(self, run_id: int) -> RunEngagement:
        row = await self._session.get(RunTrackingRow, run_id, populate_existing=True)
        if row is None:
            return RunEngagement()
        return RunEngagement(
            **{name: getattr(row, name) for name in RunEngagement.__dataclass_fields__}
        )

    async def link_clicks(self, run_id: int) -> dict[int, LinkClicks]:
        rows = await self._session.scalars(select(RunLinkRow).where(RunLinkRow.run_id == run_id))
        return {
            row.link_index: LinkClicks(
                row.link_index, "", row.clicks, row.unique_clicks, row.bot_clicks
            )
            for row in rows
        }
