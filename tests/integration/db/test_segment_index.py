"""Saved segments index their equality fields on PostgreSQL, on the very expression the
segment's count compares (so the planner can use it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.mailings import Channel, Mailing
from domain.recipients import RecipientList
from domain.segments import Condition, Op, Segment
from domain.targeting import Targeting
from domain.usecases import segments
from domain.users import Role, User
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.models import AddressRow
from infrastructure.db.segment_index import SqlFieldIndexes, index_name
from infrastructure.db.segments import Compiler


@pytest.fixture
async def pg_engine(migrated_pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_pg_url)
    yield engine
    await engine.dispose()


async def indexes_of_addresses(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'addresses'")
        )
        return {str(row[0]): str(row[1]) for row in rows}


async def test_a_field_is_indexed_once_and_the_count_can_use_it(pg_engine: AsyncEngine) -> None:
    indexes = SqlFieldIndexes(pg_engine)
    await indexes.ensure({"city", "it's"})
    await indexes.ensure({"city"})  # again: nothing new, no error
    found = await indexes_of_addresses(pg_engine)
    assert "lower((attributes ->> 'city'::text))" in found[index_name("city")]
    assert index_name("it's") in found

    targeting = Targeting(segment=Segment((Condition("city", Op.equals, "Kazan"),)))
    clause = Compiler("postgresql", date(2026, 12, 7)).targeting(targeting)
    assert clause is not None
    stmt = select(func.count()).select_from(AddressRow).where(clause)
    async with pg_engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            row[0] for row in await conn.execute(text("EXPLAIN " + _sql(stmt, pg_engine)))
        )
    assert index_name("city") in plan, plan


def _sql(stmt: object, engine: AsyncEngine) -> str:
    compiled = stmt.compile(  # type: ignore[attr-defined]
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


async def test_saving_a_segment_indexes_its_equality_fields(pg_engine: AsyncEngine) -> None:
    uow_factory = make_uow_factory(create_session_factory(pg_engine))
    async with uow_factory() as uow:
        await uow.users.add(User(telegram_id=5, role=Role.manager))
        rlist = await uow.lists.add(RecipientList("L", 5, fields=["plan", "age"]))
        assert rlist.id is not None
        mailing = await uow.mailings.add(
            Mailing(owner_id=5, name="M", channel=Channel.email, list_ids=[rlist.id])
        )
        await uow.commit()
    assert mailing.id is not None
    await segments.add_condition(uow_factory, 5, mailing.id, "plan", Op.one_of, "pro, team")
    await segments.add_condition(uow_factory, 5, mailing.id, "age", Op.greater, "18")
    await segments.save(uow_factory, 5, mailing.id, "Paying adults", SqlFieldIndexes(pg_engine))
    found = await indexes_of_addresses(pg_engine)
    assert index_name("plan") in found and index_name("age") not in found
