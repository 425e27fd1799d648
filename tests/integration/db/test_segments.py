"""Segments and exclusions run in the database, alike on PostgreSQL and SQLite: the
reachable count and the run's snapshot select the same people."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.segments import TAGS, Condition, Match, Op, Segment, parse_condition
from domain.targeting import Targeting
from infrastructure.db.base import UTCDateTime
from infrastructure.db.models import AddressRow, ListMemberRow
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.segments import Compiler
from tests.integration.db.test_queue import add_run

TODAY = date(2026, 12, 7)
PEOPLE: dict[str, dict[str, Any]] = {
    "ann": {
        "city": "Москва",
        "age": "34",
        "plan": "Pro",
        "birthday": "1990-12-07",
        "seen": "2026-12-01",
        "tags": "vip, new",
    },
    "bob": {
        "city": "moscow",
        "age": "17",
        "plan": "free",
        "birthday": "07.12.2001",
        "seen": "2026-10-01",
        "tags": "new",
    },
    "cat": {
        "city": "Kazan",
        "age": "abc",
        "plan": "",
        "birthday": "1985-01-15",
        "seen": "01.12.2026",
        "tags": "vipper",
    },
    "dan": {"city": "Saint Petersburg", "age": 52, "birthday": "not a date", "tags": "VIP;gold"},
    "eve": {},
}


async def seed(uow_factory: UnitOfWorkFactory) -> tuple[int, int, dict[str, int]]:
    """Everyone in list "All"; ann and dan also in "Staff"."""
    async with uow_factory() as uow:
        everyone = await uow.lists.add(RecipientList("All", 1))
        staff = await uow.lists.add(RecipientList("Staff", 1))
        ids = {}
        for name, attributes in PEOPLE.items():
            address = await uow.addresses.upsert(
                Address(AddressKind.email, f"{name}@example.com", attributes)
            )
            assert address.id is not None
            ids[name] = address.id
        assert everyone.id is not None and staff.id is not None
        await uow.members.add_members(everyone.id, list(ids.values()))
        await uow.members.add_members(staff.id, [ids["ann"], ids["dan"]])
        await uow.commit()
    return everyone.id, staff.id, ids


async def chosen(engine: AsyncEngine, targeting: Targeting, list_id: int) -> list[str]:
    """The names of the list's members the targeting selects."""
    clause = Compiler(engine.dialect.name, TODAY).targeting(targeting)
    stmt = (
        select(AddressRow.value)
        .join(ListMemberRow, ListMemberRow.address_id == AddressRow.id)
        .where(ListMemberRow.list_id == list_id)
    )
    if clause is not None:
        stmt = stmt.where(clause)
    async with engine.connect() as conn:
        values = (await conn.scalars(stmt)).all()
    return sorted(value.split("@")[0] for value in values)


def where(field: str, op: Op, value: str | None = None) -> Targeting:
    return Targeting(segment=Segment((parse_condition(field, op, value),)))


CASES = [
    (where("city", Op.equals, "МОСКВА"), ["ann"]),  # any alphabet, ignoring case
    (where("city", Op.equals, "moscow"), ["bob"]),
    (where("city", Op.not_equals, "Kazan"), ["ann", "bob", "dan", "eve"]),
    (where("city", Op.contains, "peter"), ["dan"]),
    (where("city", Op.contains, "%"), []),  # a wildcard is a character like any other
    (where("city", Op.one_of, "kazan, Москва"), ["ann", "cat"]),
    (where("plan", Op.empty), ["cat", "dan", "eve"]),
    (where("plan", Op.not_empty), ["ann", "bob"]),
    (where("age", Op.greater, "18"), ["ann", "dan"]),  # "abc" is no number: left out
    (where("age", Op.less, "34,5"), ["ann", "bob"]),
    (where("birthday", Op.before, "2000-01-01"), ["ann", "cat"]),
    (where("birthday", Op.after, "01.01.2000"), ["bob"]),
    (where("seen", Op.within_days, "7"), ["ann", "cat"]),
    (where("birthday", Op.birthday_today), ["ann", "bob"]),
    (where(TAGS, Op.has_tag, "vip"), ["ann", "dan"]),  # not "vipper"
    (where(TAGS, Op.has_tag, "gold"), ["dan"]),
]


@pytest.mark.parametrize(("targeting", "expected"), CASES)
async def test_each_operator_selects_in_the_database(
    uow_factory: UnitOfWorkFactory,
    db_engine: AsyncEngine,
    targeting: Targeting,
    expected: list[str],
) -> None:
    everyone, _, _ = await seed(uow_factory)
    assert await chosen(db_engine, targeting, everyone) == expected


async def test_all_and_any_combine_conditions(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    everyone, _, _ = await seed(uow_factory)
    conditions = (Condition("plan", Op.equals, "free"), Condition(TAGS, Op.has_tag, "vip"))
    both = Targeting(segment=Segment(conditions, Match.all))
    either = Targeting(segment=Segment(conditions, Match.any))
    assert await chosen(db_engine, both, everyone) == []
    assert await chosen(db_engine, either, everyone) == ["ann", "bob", "dan"]


async def test_exclusions_leave_out_a_list_and_a_segment(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    everyone, staff, _ = await seed(uow_factory)
    no_staff = Targeting(exclude_lists=(staff,))
    assert await chosen(db_engine, no_staff, everyone) == ["bob", "cat", "eve"]
    # "except segment D": members without the field are not in D, so they stay.
    not_free = Targeting(exclude_segment=Segment((Condition("age", Op.greater, 18.0),)))
    assert await chosen(db_engine, not_free, everyone) == ["bob", "cat", "eve"]
    both = Targeting(
        segment=Segment((Condition("plan", Op.not_equals, "pro"),)),
        exclude_lists=(staff,),
        exclude_segment=Segment((Condition("city", Op.equals, "kazan"),)),
    )
    assert await chosen(db_engine, both, everyone) == ["bob", "eve"]


async def test_exclusions_by_an_earlier_mailings_deliveries_and_clicks(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    everyone, _, ids = await seed(uow_factory)
    run = await add_run(uow_factory)
    async with uow_factory() as uow:
        mailing_id = (await uow.runs.get(run)).mailing_id  # type: ignore[union-attr]
    async with db_engine.begin() as conn:
        for name, status in (("ann", "delivered"), ("bob", "delivered"), ("cat", "failed")):
            await conn.execute(
                text(
                    "INSERT INTO deliveries (run_id, address_id, status, attempts)"
                    " VALUES (:run, :address, :status, 1)"
                ),
                {"run": run, "address": ids[name], "status": status},
            )
        bob = await conn.scalar(
            text("SELECT id FROM deliveries WHERE address_id = :a"), {"a": ids["bob"]}
        )
        insert_click = text(
            "INSERT INTO delivery_tracking (delivery_id, run_id, clicked_at, clicks, opens)"
            " VALUES (:d, :run, :at, 1, 0)"
        ).bindparams(bindparam("at", type_=UTCDateTime()))
        await conn.execute(
            insert_click, {"d": bob, "run": run, "at": datetime(2026, 12, 1, tzinfo=UTC)}
        )
    got = Targeting(exclude_got=(mailing_id,))
    clicked = Targeting(exclude_clicked=(mailing_id,))
    assert await chosen(db_engine, got, everyone) == ["cat", "dan", "eve"]
    assert await chosen(db_engine, clicked, everyone) == ["ann", "cat", "dan", "eve"]


async def test_the_count_and_the_snapshot_agree(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    everyone, staff, _ = await seed(uow_factory)
    targeting = Targeting(
        segment=Segment(
            (Condition(TAGS, Op.has_tag, "new"), Condition("age", Op.less, 60.0)), Match.any
        ),
        exclude_lists=(staff,),
    )
    async with uow_factory() as uow:
        audience = await uow.audiences.audience(
            [everyone, staff], [AddressKind.email], targeting, TODAY
        )
        one = await uow.audiences.audience([everyone], [AddressKind.email], targeting, TODAY)
    assert audience.reachable == one.reachable == 1
    assert audience.first is not None and audience.first.value == "bob@example.com"
    run = await add_run(uow_factory)
    queue = SqlDeliveryQueue(db_engine)
    kinds = [AddressKind.email]
    assert await queue.snapshot(run, [everyone, staff], kinds, targeting, TODAY) == 1
    # A second snapshot of the same run (ON CONFLICT) adds nobody twice.
    assert await queue.snapshot(run, [everyone], kinds, targeting, TODAY) == 0
    assert await queue.snapshot(run, [everyone], kinds, None, TODAY) == 4
