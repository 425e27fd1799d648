"""Bot subscribers and suppression: who may receive mailings at all.

Suppression is global: an address that unsubscribed or refused (blocked the bot, hard
bounce) gets nothing from any list until it subscribes again by itself, or an admin
lifts the suppression.
"""

from __future__ import annotations

import enum
from datetime import datetime

from domain import webhooks
from domain.audit import AuditEntry
from domain.clock import Clock, SystemClock
from domain.errors import AccessDenied, NotFound
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import Address, AddressKind
from domain.usecases.roles import SeenUser
from domain.usecases.webhooks import emit


async def subscribe(
    uow_factory: UnitOfWorkFactory, seen: SeenUser, clock: Clock | None = None
) -> Address:
    """/start by someone who is not staff: they become (again) a Telegram recipient.

    Pressing /start is an explicit wish, so it also clears an earlier /stop or block.
    """
    now = (clock or SystemClock()).now()
    profile = {"name": seen.full_name, "username": seen.username, "language": seen.language}
    profile = {k: v for k, v in profile.items() if v}
    async with uow_factory() as uow:
        address = await uow.addresses.upsert(
            Address(kind=AddressKind.telegram, value=str(seen.telegram_id))
        )
        address.attributes = {**address.attributes, **profile}
        address.subscribed_at, address.unsubscribed_at, address.refused_at = now, None, None
        await uow.addresses.update(address)
        await uow.commit()
    return address


async def unsubscribe_chat(
    uow_factory: UnitOfWorkFactory, chat_id: int, clock: Clock | None = None
) -> bool:
    """/stop: ``False`` when the chat was not subscribed (nothing to do)."""
    async with uow_factory() as uow:
        address = await uow.addresses.find(AddressKind.telegram, str(chat_id))
        if address is None or address.unsubscribed_at is not None:
            return False
        address.unsubscribed_at = (clock or SystemClock()).now()
        await uow.addresses.update(address)
        await _tell(uow, address, "bot")
        await uow.commit()
    return True


async def is_subscribed(uow_factory: UnitOfWorkFactory, chat_id: int) -> bool:
    """Whether the chat pressed /start and has not left since (nor blocked the bot)."""
    async with uow_factory() as uow:
        address = await uow.addresses.find(AddressKind.telegram, str(chat_id))
    return address is not None and address.subscribed_at is not None and not address.is_suppressed


async def chat_blocked_bot(
    uow_factory: UnitOfWorkFactory, chat_id: int, clock: Clock | None = None
) -> None:
    """Telegram says the user blocked the bot: suppress at once (refused)."""
    async with uow_factory() as uow:
        address = await uow.addresses.find(AddressKind.telegram, str(chat_id))
        if address is None or address.refused_at is not None:
            return
        address.refused_at = (clock or SystemClock()).now()
        await uow.addresses.update(address)
        await uow.commit()


async def unsubscribe_address(
    uow_factory: UnitOfWorkFactory, address_id: int, clock: Clock | None = None
) -> Address:
    """An unsubscribe link was used; idempotent (a second click changes nothing)."""
    async with uow_factory() as uow:
        address = await uow.addresses.get(address_id)
        if address is None:
            raise NotFound()
        if address.unsubscribed_at is None:
            address.unsubscribed_at = (clock or SystemClock()).now()
            await uow.addresses.update(address)
            await _tell(uow, address, "link")
            await uow.commit()
    return address


async def _tell(uow: UnitOfWork, address: Address, via: str) -> None:
    """``recipient.unsubscribed`` to the event webhooks, in the same transaction."""
    assert address.unsubscribed_at is not None
    event = webhooks.recipient_unsubscribed(
        address.kind.value, address.value, via, address.unsubscribed_at
    )
    await emit(uow, [event])


class Lift(enum.StrEnum):
    lifted = "lifted"
    not_suppressed = "not_suppressed"
    # the address unsubscribed by itself: an admin must confirm overriding its wish
    needs_confirmation = "needs_confirmation"


async def lift_suppression(
    uow_factory: UnitOfWorkFactory,
    *,
    actor_id: int,
    kind: AddressKind,
    value: str,
    confirmed: bool = False,
) -> tuple[Address, Lift]:
    """Admins only: the address may receive mailings again.

    An address that unsubscribed itself (/stop, a link, a complaint) is lifted only when
    ``confirmed``: mailing it again goes against what its owner asked for."""
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
        address = await uow.addresses.find(kind, value)
        if address is None:
            raise NotFound("unsuppress-unknown", address=value)
        return address, await _lift(uow, actor_id, address, confirmed)


async def lift_confirmed(
    uow_factory: UnitOfWorkFactory, *, actor_id: int, address_id: int
) -> tuple[Address, Lift]:
    """The admin confirmed lifting the suppression of an address that unsubscribed itself."""
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
        address = await uow.addresses.get(address_id)
        if address is None:
            raise NotFound()
        return address, await _lift(uow, actor_id, address, True)


async def _require_admin(uow: UnitOfWork, actor_id: int) -> None:
    actor = await uow.users.get(actor_id)
    if actor is None or not actor.is_admin:
        raise AccessDenied("api-admins-only")  # as every admins' call says


async def _lift(uow: UnitOfWork, actor_id: int, address: Address, confirmed: bool) -> Lift:
    if not address.is_suppressed:
        return Lift.not_suppressed
    if address.unsubscribed_at is not None and not confirmed:
        return Lift.needs_confirmation
    before = {
        "unsubscribed_at": _iso(address.unsubscribed_at),
        "refused_at": _iso(address.refused_at),
    }
    address.unsubscribed_at = address.refused_at = None
    await uow.addresses.update(address)
    await uow.audit.add(
        AuditEntry(
            actor_id=actor_id,
            action="suppression.lift",
            target_type="address",
            target_id=str(address.id),
            details={"kind": address.kind.value, **before},
        )
    )
    await uow.commit()
    return Lift.lifted


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
