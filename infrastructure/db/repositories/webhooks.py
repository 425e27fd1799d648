"""Event webhook endpoints and their outbox (``domain.ports.webhooks.WebhookStore``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from domain.webhooks import (
    Claimed,
    Endpoint,
    EndpointHealth,
    Event,
    EventType,
    OutboxItem,
    OutboxStatus,
    fan_out,
)
from infrastructure.db.models import WebhookEndpointRow, WebhookOutboxRow
from infrastructure.db.repositories._sql import dialect_name, execute_dml, upsert_insert


def to_endpoint(row: WebhookEndpointRow) -> Endpoint:
    events = frozenset(EventType(name) for name in row.events.split(",") if name)
    return Endpoint(row.url, row.secret, events, row.created_by, row.id, row.created_at)


def to_item(row: WebhookOutboxRow) -> OutboxItem:
    return OutboxItem(
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        event_type=EventType(row.event_type),
        body=row.body,
        created_at=row.created_at,
        next_at=row.next_at,
        attempts=row.attempts,
        status=OutboxStatus(row.status),
        last_status=row.last_status,
        last_error=row.last_error,
        id=row.id,
    )


class SqlWebhookStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, endpoint: Endpoint) -> Endpoint:
        row = WebhookEndpointRow(
            url=endpoint.url,
            secret=endpoint.secret,
            events=",".join(sorted(e.value for e in endpoint.events)),
            created_by=endpoint.created_by,
        )
        self._session.add(row)
        await self._session.flush()
        return to_endpoint(row)

    async def get(self, endpoint_id: int) -> Endpoint | None:
        row = await self._session.get(WebhookEndpointRow, endpoint_id, populate_existing=True)
        return to_endpoint(row) if row is not None else None

    async def all(self) -> list[Endpoint]:
        stmt = select(WebhookEndpointRow).order_by(WebhookEndpointRow.id)
        return [to_endpoint(row) for row in await self._session.scalars(stmt)]

    async def delete(self, endpoint_id: int) -> bool:
        # SQLite enforces ON DELETE CASCADE only with its foreign keys pragma: say it here.
        await execute_dml(
            self._session,
            delete(WebhookOutboxRow).where(WebhookOutboxRow.endpoint_id == endpoint_id),
        )
        stmt = delete(WebhookEndpointRow).where(WebhookEndpointRow.id == endpoint_id)
        return bool(await execute_dml(self._session, stmt))

    async def subscribed(self, types: frozenset[EventType]) -> list[Endpoint]:
        # A handful of rows: read them all, choose here (no JSON or LIKE per backend).
        return [e for e in await self.all() if e.events & types]

    async def enqueue(self, items: Sequence[OutboxItem]) -> int:
        if not items:
            return 0
        rows = [
            {
                "endpoint_id": item.endpoint_id,
                "event_id": item.event_id,
                "event_type": item.event_type.value,
                "body": item.body,
                "status": item.status.value,
                "attempts": item.attempts,
                "next_at": item.next_at,
                "created_at": item.created_at,
            }
            for item in items
        ]
        stmt = (
            upsert_insert(self._session, WebhookOutboxRow)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        )
        return await execute_dml(self._session, stmt)

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        due = (
            select(WebhookOutboxRow.id)
            .where(WebhookOutboxRow.status == OutboxStatus.pending.value)
            .where(WebhookOutboxRow.next_at <= now)
            .order_by(WebhookOutboxRow.next_at, WebhookOutboxRow.id)
            .limit(limit)
        )
        if dialect_name(self._session) == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(WebhookOutboxRow)
            .where(WebhookOutboxRow.id.in_(due.scalar_subquery()))
            .values(attempts=WebhookOutboxRow.attempts + 1, next_at=now + lease)
            .returning(WebhookOutboxRow)
            .execution_options(synchronize_session=False)
        )
        rows = list((await self._session.scalars(stmt)).all())
        if not rows:
            return []
        ids = {row.endpoint_id for row in rows}
        endpoints = await self._session.scalars(
            select(WebhookEndpointRow).where(WebhookEndpointRow.id.in_(ids))
        )
        by_id = {e.id: e for e in endpoints}
        return [
            Claimed(to_item(row), by_id[row.endpoint_id].url, by_id[row.endpoint_id].secret)
            for row in sorted(rows, key=lambda row: row.id)
            if row.endpoint_id in by_id
        ]

    async def record(self, item: OutboxItem) -> None:
        stmt = (
            update(WebhookOutboxRow)
            .where(WebhookOutboxRow.id == item.id)
            .values(
                status=item.status.value,
                next_at=item.next_at,
                last_status=item.last_status,
                last_error=item.last_error,
            )
            .execution_options(synchronize_session=False)
        )
        await execute_dml(self._session, stmt)

    async def purge_sent(self, created_before: datetime, limit: int) -> int:
        old = (
            select(WebhookOutboxRow.id)
            .where(
                WebhookOutboxRow.status == OutboxStatus.sent.value,
                WebhookOutboxRow.created_at < created_before,
            )
            .order_by(WebhookOutboxRow.id)
            .limit(limit)
        )
        stmt = (
            delete(WebhookOutboxRow)
            .where(WebhookOutboxRow.id.in_(old.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        return await execute_dml(self._session, stmt)

    async def health(self, endpoint_id: int, failures: int) -> EndpointHealth | None:
        endpoint = await self.get(endpoint_id)
        if endpoint is None:
            return None
        pending = await self._session.scalar(
            select(func.count())
            .select_from(WebhookOutboxRow)
            .where(
                WebhookOutboxRow.endpoint_id == endpoint_id,
                WebhookOutboxRow.status == OutboxStatus.pending.value,
            )
        )
        failed = await self._session.scalars(
            select(WebhookOutboxRow)
            .where(
                WebhookOutboxRow.endpoint_id == endpoint_id,
                WebhookOutboxRow.status != OutboxStatus.sent.value,
                WebhookOutboxRow.last_error.is_not(None),
            )
            .order_by(WebhookOutboxRow.id.desc())
            .limit(failures)
        )
        return EndpointHealth(endpoint, pending or 0, [to_item(row) for row in failed])


async def emit_on(conn: AsyncConnection, events: Sequence[Event]) -> int:
    """``domain.usecases.webhooks.emit`` inside the transaction of ``conn`` (adapters that
    write with a connection, not a unit of work: the delivery queue's results). The
    session joins that transaction and never commits it: the caller's commit stores the
    events with its own rows, its rollback drops both."""
    if not events:
        return 0
    session = AsyncSession(bind=conn)
    try:
        store = SqlWebhookStore(session)
        endpoints = await store.subscribed(frozenset(e.type for e in events))
        return await store.enqueue(fan_out(events, endpoints)) if endpoints else 0
    finally:
        await session.close()
