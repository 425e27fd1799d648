"""Who a mailing would reach: deduplicated across lists, suppression left out."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.ports import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList

NOW = datetime(2026, 11, 26, tzinfo=UTC)


async def seed(uow_factory: UnitOfWorkFactory) -> tuple[int, int]:
    async with uow_factory() as uow:
        a = await uow.lists.add(RecipientList("A", 1))
        b = await uow.lists.add(RecipientList("B", 1))
        people = [
            Address(AddressKind.email, "ann@example.com", {"name": "Ann", "город": "Рим"}),
            Address(AddressKind.email, "bob@example.com", {"name": ""}),
            Address(AddressKind.email, "gone@example.com", {"name": "G"}, unsubscribed_at=NOW),
            Address(AddressKind.telegram, "42", {"name": "T"}),
            Address(AddressKind.email, "eve@example.com", {}, refused_at=NOW),
        ]
        ids = [(await uow.addresses.upsert(p)).id for p in people]
        assert a.id is not None and b.id is not None
        await uow.lists.add_members(a.id, [i for i in ids[:4] if i is not None])
        await uow.lists.add_members(b.id, [i for i in (ids[0], ids[4]) if i is not None])
        await uow.commit()
        return a.id, b.id


async def test_audience_is_distinct_and_leaves_out_suppressed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    a, b = await seed(uow_factory)
    async with uow_factory() as uow:
        email = await uow.lists.audience([a, b], [AddressKind.email])
        telegram = await uow.lists.audience([a, b], [AddressKind.telegram])
        nothing = await uow.lists.audience([], [AddressKind.email])
    assert (email.reachable, email.suppressed, email.other_kinds) == (2, 2, 1)
    assert email.first is not None and email.first.value == "ann@example.com"
    assert (telegram.reachable, telegram.suppressed, telegram.other_kinds) == (1, 0, 4)
    assert nothing.reachable == 0 and nothing.first is None


async def test_missing_attributes_counts_reachable_recipients_without_a_value(
    uow_factory: UnitOfWorkFactory,
) -> None:
    a, b = await seed(uow_factory)
    async with uow_factory() as uow:
        missing = await uow.lists.missing_attributes(
            [a, b], [AddressKind.email], ["name", "город", "city"]
        )
    assert missing == {"name": 1, "город": 1, "city": 2}
