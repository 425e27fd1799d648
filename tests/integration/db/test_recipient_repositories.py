"""Addresses and recipient lists, on PostgreSQL and on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import Address, AddressKind, ListSize, ListSourceKind, RecipientList

ATTRIBUTES = {"name": "Иван Петров", "город": "Москва", "tags": ["vip", "новый"], "age": 42}
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


async def add_addresses(uow: UnitOfWork, kind: AddressKind, *values: str) -> list[int]:
    ids = []
    for value in values:
        address = await uow.addresses.upsert(Address(kind=kind, value=value))
        assert address.id is not None
        ids.append(address.id)
    return ids


async def add_list(uow: UnitOfWork, name: str = "Клиенты") -> int:
    rlist = await uow.lists.add(RecipientList(name=name, owner_id=1))
    assert rlist.id is not None
    return rlist.id


async def test_an_address_round_trips_every_field(uow_factory: UnitOfWorkFactory) -> None:
    address = Address(
        kind=AddressKind.email, value="ivan@example.ru", attributes=ATTRIBUTES, refused_at=T0
    )
    async with uow_factory() as uow:
        stored = await uow.addresses.upsert(address)
        await uow.commit()
    assert stored is address and address.id is not None and address.created_at is not None

    async with uow_factory() as uow:
        by_id = await uow.addresses.get(address.id)
        by_value = await uow.addresses.find(AddressKind.email, "ivan@example.ru")
        assert await uow.addresses.find(AddressKind.telegram, "ivan@example.ru") is None
        assert await uow.addresses.get(address.id + 1) is None
    assert by_id == by_value == address
    assert by_id is not None and by_id.attributes == ATTRIBUTES and by_id.is_suppressed


async def test_upsert_returns_the_existing_row_unchanged(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await uow.addresses.upsert(
            Address(kind=AddressKind.telegram, value="1001", attributes={"name": "Первый"})
        )
        again = Address(kind=AddressKind.telegram, value="1001", attributes={"name": "Другой"})
        existing = await uow.addresses.upsert(again)
        other_kind = await uow.addresses.upsert(Address(kind=AddressKind.webhook, value="1001"))
        await uow.commit()

    assert existing.id == again.id == first.id
    assert existing.attributes == {"name": "Первый"}
    assert other_kind.id != first.id


async def test_update_suppresses_an_address(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        address = await uow.addresses.upsert(Address(kind=AddressKind.email, value="a@b.c"))
        address.unsubscribed_at, address.attributes = T0, {"reason": "отписка"}
        await uow.addresses.update(address)
        await uow.commit()
    async with uow_factory() as uow:
        assert address.id is not None
        assert await uow.addresses.get(address.id) == address


async def test_add_members_skips_duplicates_and_counts_new_rows(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        list_id = await add_list(uow)
        a, b, c, d = await add_addresses(
            uow, AddressKind.email, "a@x.ru", "b@x.ru", "c@x.ru", "d@x.ru"
        )
        assert await uow.members.add_members(list_id, [a, b, b, c]) == 3
        assert await uow.members.add_members(list_id, [a, c, d]) == 1
        assert await uow.members.add_members(list_id, []) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.members.size(list_id)).total == 4


async def test_add_members_takes_thousands_of_ids_in_one_statement(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        list_id = await add_list(uow)
        ids = await add_addresses(uow, AddressKind.email, "a@x.ru", "b@x.ru", "c@x.ru")
        # More ids than either backend accepts as separate bound parameters (32767).
        assert await uow.members.add_members(list_id, ids * 20_000) == 3


async def test_size_counts_members_per_kind_and_suppressed_ones(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        list_id = await add_list(uow)
        other = await add_list(uow, "Другой")
        emails = await add_addresses(uow, AddressKind.email, "a@x.ru", "b@x.ru", "c@x.ru")
        chats = await add_addresses(uow, AddressKind.telegram, "1", "2")
        for address_id in (emails[0], chats[1]):
            address = await uow.addresses.get(address_id)
            assert address is not None
            address.refused_at = T0
            await uow.addresses.update(address)
        await uow.members.add_members(list_id, emails + chats)
        await uow.members.add_members(other, emails[:1])
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.members.size(list_id) == ListSize(email=3, telegram=2, suppressed=2)
        assert await uow.members.size(other) == ListSize(email=1, suppressed=1)
        assert await uow.members.size(list_id + other) == ListSize()


async def test_members_are_paged_in_address_order(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        list_id = await add_list(uow)
        ids = await add_addresses(uow, AddressKind.email, *(f"{n}@x.ru" for n in range(5)))
        await uow.members.add_members(list_id, list(reversed(ids)))
        first = await uow.members.members(list_id, page=0, size=2)
        last = await uow.members.members(list_id, page=2, size=2)

    assert [a.id for a in first.items] == ids[:2]
    assert [a.value for a in last.items] == ["4@x.ru"]
    assert (first.total, first.pages, last.has_next) == (5, 3, False)


async def test_lists_round_trip_update_remove_and_delete(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        rlist = await uow.lists.add(
            RecipientList(
                name="Подписчики",
                owner_id=7,
                source_kind=ListSourceKind.url,
                source_ref="https://x",
            )
        )
        keep = await add_list(uow, "Keep")
        a, b = await add_addresses(uow, AddressKind.email, "a@x.ru", "b@x.ru")
        assert rlist.id is not None
        await uow.members.add_members(rlist.id, [a, b])
        await uow.commit()
    assert rlist.created_at is not None and rlist.updated_at is not None

    async with uow_factory() as uow:
        assert await uow.lists.get(rlist.id) == rlist
        rlist.name, rlist.source_kind, rlist.source_ref = "Renamed", ListSourceKind.file, None
        await uow.lists.update(rlist)
        assert await uow.members.remove_member(rlist.id, a) is True
        assert await uow.members.remove_member(rlist.id, a) is False
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.lists.get(rlist.id)
        assert loaded is not None
        assert (loaded.name, loaded.source_kind, loaded.source_ref) == ("Renamed", "file", None)
        assert (await uow.members.size(rlist.id)).total == 1
        await uow.lists.delete(rlist.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert [x.id for x in await uow.lists.all()] == [keep]
        assert (await uow.members.members(rlist.id, 0, 10)).total == 0
        assert await uow.addresses.get(a) is not None  # addresses outlive their lists
