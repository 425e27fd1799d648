"""Admins suppress an address by hand (it gets no mailing until lifted, as after a hard
bounce); lifting is ``subscribers.lift_suppression``."""

from __future__ import annotations

from datetime import datetime

from domain.errors import AccessDenied
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind
from domain.usecases.access import record, require_staff


async def suppress(
    uow_factory: UnitOfWorkFactory, actor_id: int, kind: AddressKind, value: str, now: datetime
) -> tuple[Address, bool]:
    """The address, and ``False`` when it was suppressed already (nothing changes)."""
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        if not actor.is_admin:
            raise AccessDenied("api-admins-only")
        address = await uow.addresses.upsert(Address(kind, value))
        if address.is_suppressed:
            return address, False
        address.refused_at = now
        await uow.addresses.update(address)
        await record(
            uow, actor_id, "suppression.add", ("address", address.id), {"kind": kind.value}
        )
        await uow.commit()
    return address, True
