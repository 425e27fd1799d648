"""Who a mailing would reach: deduplicated across lists, suppression left out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from infrastructure.db.repositories import lists as lists_repository

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
        await uow.members.add_members(a.id, [i for i in ids[:4] if i is not None])
        await uow.members.add_members(b.id, [i for i in (ids[0], ids[4]) if i is not None])
        await uow.commit()
        return a.id, b.id


async def test_audience_is_distinct_and_leaves_out_suppressed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    a, b = await seed(uow_factory)
    async with uow_factory() as uow:
        email = await uow.audiences.audience([a, b], [AddressKind.email])
        telegram = await uow.audiences.audience([a, b], [AddressKind.telegram])
        nothing = await uow.audiences.audience([], [AddressKind.email])
    assert (email.reachable, email.suppressed, email.other_kinds) == (2, 2, 1)
    assert email.first is not None and email.first.value == "ann@example.com"
    assert (telegram.reachable, telegram.suppressed, telegram.other_kinds) == (1, 0, 4)
    assert nothing.reachable == 0 and nothing.first is None


async def test_missing_attributes_counts_reachable_recipients_without_a_value(
    uow_factory: UnitOfWorkFactory,
) -> None:
    a, b = await seed(uow_factory)
    async with uow_factory() as uow:
        missing = await uow.audiences.missing_attributes(
            [a, b], [AddressKind.email], ["name", "город", "city"]
        )
    assert missing == {"name": 1, "город": 1, "city": 2}


@pytest.mark.parametrize("probe_from", [lists_repository.PROBE_FROM_SUPPRESSED, 0])
async def test_one_whole_list_is_counted_from_its_kept_counts_and_they_stay_exact(
    uow_factory: UnitOfWorkFactory,
    db_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    probe_from: int,
) -> None:
    """A single list without a segment is counted from ``list_counts`` (kept by triggers):
    it must agree with the live count through every way members come and go. Its
    suppressed members are found both ways (from the list, or from the suppressed
    addresses as for a big list)."""
    monkeypatch.setattr(lists_repository, "PROBE_FROM_SUPPRESSED", probe_from)
    a, b = await seed(uow_factory)

    async def figures(list_id: int) -> tuple[int, int, int, int, int]:
        async with uow_factory() as uow:
            counted = await uow.audiences.audience([list_id], [AddressKind.email])
            # The same list twice takes the live path (several lists): the truth.
            live = await uow.audiences.audience([list_id, list_id], [AddressKind.email])
            size = await uow.members.size(list_id)
        assert (counted.reachable, counted.suppressed, counted.other_kinds) == (
            live.reachable,
            live.suppressed,
            live.other_kinds,
        )
        return (
            counted.reachable,
            counted.suppressed,
            counted.other_kinds,
            size.email,
            size.telegram,
        )

    assert await figures(a) == (2, 1, 1, 3, 1)
    assert await figures(b) == (1, 1, 0, 2, 0)
    async with uow_factory() as uow:
        bob = await uow.addresses.find(AddressKind.email, "bob@example.com")
        ann = await uow.addresses.find(AddressKind.email, "ann@example.com")
        assert bob is not None and bob.id is not None and ann is not None
        assert await uow.members.remove_member(a, bob.id)
        await uow.addresses.update(replace(ann, unsubscribed_at=NOW))
        await uow.commit()
    assert await figures(a) == (0, 2, 1, 2, 1)
    async with db_engine.begin() as conn:  # by hand: memberships cascade, counts follow
        await conn.execute(text("DELETE FROM addresses WHERE value = 'ann@example.com'"))
    assert await figures(a) == (0, 1, 1, 1, 1)
    assert await figures(b) == (0, 1, 0, 1, 0)
    async with uow_factory() as uow:
        await uow.lists.delete(a)
        await uow.commit()
    async with db_engine.connect() as conn:
        left = (await conn.execute(text("SELECT list_id, kind, members FROM list_counts"))).all()
        members = (await conn.execute(text("SELECT list_id FROM list_members"))).all()
    assert [tuple(row) for row in left] == [(b, "email", 1)]
    assert {row[0] for row in members} == {b}  # a deleted list takes its members along


async def test_a_member_of_a_missing_list_or_address_is_refused(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """list_members has no foreign keys (migration 0024): triggers refuse what they did."""
    a, _ = await seed(uow_factory)
    async with uow_factory() as uow:
        ann = await uow.addresses.find(AddressKind.email, "ann@example.com")
        assert ann is not None and ann.id is not None
    for list_id, address_id in ((a, 10**9), (10**9, ann.id)):
        with pytest.raises(IntegrityError):
            async with uow_factory() as uow:
                await uow.members.add_members(list_id, [address_id])
                await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.members.size(a)).total == 4
