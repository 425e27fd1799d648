"""``truncate_all`` (tests/support/db.py), which every PostgreSQL test starts from, leaves
the session's database as freshly migrated: every table empty, whether it held a few rows
(deleted with triggers off) or many (truncated), and identities starting at 1 again."""

from __future__ import annotations

from sqlalchemy import text

from domain.recipients import Address, AddressKind, RecipientList
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.models import metadata
from tests.support.db import truncate_all


async def test_every_table_ends_empty_and_ids_start_again(migrated_pg_url: str) -> None:
    engine = create_engine(migrated_pg_url)
    uow_factory = make_uow_factory(create_session_factory(engine))
    try:
        async with uow_factory() as uow:
            rlist = await uow.lists.add(RecipientList("Readers", 1))
            assert rlist.id is not None
            address = await uow.addresses.upsert(Address(AddressKind.telegram, "42"))
            assert address.id is not None
            await uow.lists.add_members(rlist.id, [address.id])  # counted by a trigger
            await uow.commit()
        async with engine.begin() as conn:  # past the row count that truncates instead
            await conn.execute(
                text(
                    "INSERT INTO addresses (kind, value)"
                    " SELECT 'email', 'a' || n || '@example.com'"
                    " FROM generate_series(1, 1500) AS n"
                )
            )
            assert await conn.scalar(text("SELECT count(*) FROM list_counts")) == 1

        await truncate_all(migrated_pg_url)

        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows = await conn.scalar(text(f'SELECT count(*) FROM "{table.name}"'))  # noqa: S608
                assert rows == 0, table.name
        async with uow_factory() as uow:
            again = await uow.lists.add(RecipientList("Readers", 1))
            await uow.commit()
        assert again.id == 1
    finally:
        await engine.dispose()
