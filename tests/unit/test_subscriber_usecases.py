"""Subscriber and suppression use cases (``domain.usecases.subscribers``) on the in-memory
unit of work: /start subscribes (and clears an earlier /stop or block), /stop, a block
and an unsubscribe link suppress, and only an admin lifts a suppression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import AccessDenied, NotFound
from domain.recipients import Address, AddressKind
from domain.usecases import subscribers
from domain.usecases.roles import SeenUser
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

ADMIN, MANAGER, CHAT = 1, 2, 5005
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(users=[User(ADMIN, role=Role.admin), User(MANAGER, role=Role.manager)])


def seen(name: str = "Ann", username: str | None = "ann") -> SeenUser:
    return SeenUser(CHAT, username, name, "ru")


async def the_chat(db: MemoryDatabase) -> Address:
    async with db.uow_factory() as uow:
        found = await uow.addresses.find(AddressKind.telegram, str(CHAT))
    assert found is not None
    return found


async def test_start_subscribes_with_the_profile_as_attributes(db: MemoryDatabase) -> None:
    clock = Clock()
    address = await subscribers.subscribe(db.uow_factory, seen(), clock)
    assert (address.kind, address.value, address.subscribed_at) == (
        AddressKind.telegram,
        str(CHAT),
        T0,
    )
    stored = await the_chat(db)
    assert stored.attributes == {"name": "Ann", "username": "ann", "language": "ru"}
    # imported columns stay; the profile refreshes what it knows, empty values are not kept
    stored.attributes["city"] = "Kazan"
    db.addresses[stored.id or 0] = stored
    await subscribers.subscribe(db.uow_factory, seen("Anna", None), clock)
    assert (await the_chat(db)).attributes == {
        "name": "Anna",
        "username": "ann",
        "language": "ru",
        "city": "Kazan",
    }
    assert len(db.addresses) == 1


async def test_stop_then_start_again(db: MemoryDatabase) -> None:
    clock = Clock()
    assert await subscribers.unsubscribe_chat(db.uow_factory, CHAT, clock) is False  # unknown
    await subscribers.subscribe(db.uow_factory, seen(), clock)
    clock.at += timedelta(hours=1)
    assert await subscribers.unsubscribe_chat(db.uow_factory, CHAT, clock) is True
    assert await subscribers.unsubscribe_chat(db.uow_factory, CHAT, clock) is False  # already
    assert (await the_chat(db)).unsubscribed_at == T0 + timedelta(hours=1)
    clock.at += timedelta(hours=1)
    await subscribers.subscribe(db.uow_factory, seen(), clock)  # an explicit wish again
    again = await the_chat(db)
    assert not again.is_suppressed and again.subscribed_at == T0 + timedelta(hours=2)


async def test_a_block_refuses_at_once_and_start_clears_it(db: MemoryDatabase) -> None:
    clock = Clock()
    await subscribers.chat_blocked_bot(db.uow_factory, CHAT, clock)  # unknown: nothing
    assert db.addresses == {}
    await subscribers.subscribe(db.uow_factory, seen(), clock)
    clock.at += timedelta(minutes=5)
    await subscribers.chat_blocked_bot(db.uow_factory, CHAT, clock)
    clock.at += timedelta(minutes=5)
    await subscribers.chat_blocked_bot(db.uow_factory, CHAT, clock)  # the first time stays
    assert (await the_chat(db)).refused_at == T0 + timedelta(minutes=5)
    await subscribers.subscribe(db.uow_factory, seen(), clock)
    assert (await the_chat(db)).refused_at is None


async def test_an_unsubscribe_link_works_once_and_for_any_kind(db: MemoryDatabase) -> None:
    clock = Clock()
    async with db.uow_factory() as uow:
        email = await uow.addresses.upsert(Address(AddressKind.email, "ann@example.com"))
        await uow.commit()
    first = await subscribers.unsubscribe_address(db.uow_factory, email.id or 0, clock)
    clock.at += timedelta(days=1)
    second = await subscribers.unsubscribe_address(db.uow_factory, email.id or 0, clock)
    assert first.unsubscribed_at == second.unsubscribed_at == T0
    assert db.committed == 2  # the upsert and the first click; the second changed nothing
    with pytest.raises(NotFound):
        await subscribers.unsubscribe_address(db.uow_factory, 999, clock)


async def test_only_an_admin_lifts_a_suppression_and_it_is_audited(db: MemoryDatabase) -> None:
    clock = Clock()
    await subscribers.subscribe(db.uow_factory, seen(), clock)
    await subscribers.chat_blocked_bot(db.uow_factory, CHAT, clock)
    lift = subscribers.lift_suppression
    with pytest.raises(AccessDenied):
        await lift(db.uow_factory, actor_id=MANAGER, kind=AddressKind.telegram, value=str(CHAT))
    assert (await the_chat(db)).is_suppressed

    address, lifted = await lift(
        db.uow_factory, actor_id=ADMIN, kind=AddressKind.telegram, value=str(CHAT)
    )
    assert lifted is subscribers.Lift.lifted
    assert not address.is_suppressed and not (await the_chat(db)).is_suppressed
    entry = db.audit[-1]
    assert (entry.action, entry.actor_id, entry.target_id) == (
        "suppression.lift",
        ADMIN,
        str(address.id),
    )
    assert entry.details == {
        "kind": "telegram",
        "unsubscribed_at": None,
        "refused_at": T0.isoformat(),
    }
    _, again = await lift(
        db.uow_factory, actor_id=ADMIN, kind=AddressKind.telegram, value=str(CHAT)
    )
    assert again is subscribers.Lift.not_suppressed and len(db.audit) == 1
    with pytest.raises(NotFound) as unknown:
        await lift(db.uow_factory, actor_id=ADMIN, kind=AddressKind.email, value="x@example.com")
    assert unknown.value.key == "unsuppress-unknown"


async def test_lifting_a_chosen_unsubscribe_needs_the_admins_confirmation(
    db: MemoryDatabase,
) -> None:
    clock = Clock()
    await subscribers.subscribe(db.uow_factory, seen(), clock)
    await subscribers.unsubscribe_chat(db.uow_factory, CHAT, clock)
    lift = subscribers.lift_suppression
    _, asked = await lift(
        db.uow_factory, actor_id=ADMIN, kind=AddressKind.telegram, value=str(CHAT)
    )
    assert asked is subscribers.Lift.needs_confirmation
    assert (await the_chat(db)).is_suppressed and db.audit == []
    _, done = await lift(
        db.uow_factory,
        actor_id=ADMIN,
        kind=AddressKind.telegram,
        value=str(CHAT),
        confirmed=True,
    )
    assert done is subscribers.Lift.lifted and not (await the_chat(db)).is_suppressed
    assert db.audit[-1].details["unsubscribed_at"] == T0.isoformat()
