"""Addresses, unique on (kind, value)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.recipients import Address, AddressKind
from infrastructure.db.models import AddressRow
from infrastructure.db.repositories._sql import execute_dml, upsert_insert


def to_address(row: AddressRow) -> Address:
    return Address(
        kind=AddressKind(row.kind),
        value=row.value,
        attributes=dict(row.attributes),
        unsubscribed_at=row.unsubscribed_at,
        refused_at=row.refused_at,
        subscribed_at=row.subscribed_at,
        id=row.id,
        created_at=row.created_at,
    )


def _columns(address: Address) -> dict[str, Any]:
    return {
        "kind": address.kind.value,
        "value": address.value,
        "attributes": address.attributes,
        "unsubscribed_at": address.unsubscribed_at,
        "refused_at": address.refused_at,
        "subscribed_at": address.subscribed_at,
    }


class SqlAddressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, address_id: int) -> Address | None:
        row = await self._session.get(AddressRow, address_id, populate_existing=True)
        return to_address(row) if row is not None else None

    async def find(self, kind: AddressKind, value: str) -> Address | None:
        stmt = select(AddressRow).where(AddressRow.kind == kind.value, AddressRow.value == value)
        row = (await self._session.scalars(stmt)).one_or_none()
        return to_address(row) if row is not None else None

    async def upsert(self, address: Address) -> Address:
        """New rows come back as ``address`` itself; existing ones as stored, unchanged."""
        # DO NOTHING rather than catching IntegrityError: on PostgreSQL a failed INSERT
        # would abort the whole transaction of the unit of work.
        stmt = (
            upsert_insert(self._session, AddressRow)
            .values(**_columns(address))
            .on_conflict_do_nothing(index_elements=["kind", "value"])
            .returning(AddressRow.id, AddressRow.created_at)
        )
        inserted = (await self._session.execute(stmt)).one_or_none()
        if inserted is not None:
            address.id, address.created_at = inserted.id, inserted.created_at
            return address
        existing = await self.find(address.kind, address.value)
        if existing is None:  # deleted between the two statements
            raise NotFound("error-not-found", kind=address.kind.value, value=address.value)
        address.id = existing.id
        return existing

    async def update(self, address: Address) -> None:
        stmt = (
            update(AddressRow)
            .where(AddressRow.id == address.id)
            .values(**_columns(address))
            .execution_options(synchronize_session=False)
        )
        if not await execute_dml(self._session, stmt):
            raise NotFound("error-not-found", address_id=address.id)
