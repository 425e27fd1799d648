"""Names are unique in the database (lists and templates ignoring case, each manager's
mailings): a request that loses a race gets the same clear refusal as one that came
late, and the migration renames the repeats it finds instead of failing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import Conflict
from domain.mailings import Channel, Mailing
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import RecipientList
from domain.templates import Template
from domain.usecases import lists, mailings, roles, templates
from domain.users import Role
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from tests.support.db import drop_database, fresh_pg_database

MANAGER, OTHER = 41, 42
Add = Callable[[UnitOfWork, str], Awaitable[object]]


class _Quiet:
    async def access_changed(self, user: object) -> None:
        return None


async def add_list(uow: UnitOfWork, name: str) -> object:
    return await uow.lists.add(RecipientList(name, MANAGER))


async def add_template(uow: UnitOfWork, name: str) -> object:
    return await uow.templates.add(Template(name, MANAGER, "Hi"))


async def add_mailing(uow: UnitOfWork, name: str) -> object:
    return await uow.mailings.add(Mailing(MANAGER, name, Channel.telegram))


async def rename_mailing(uow: UnitOfWork, name: str) -> object:
    mailing = await uow.mailings.add(Mailing(MANAGER, f"{name} draft", Channel.telegram))
    mailing.name = name
    await uow.mailings.update(mailing)
    return mailing


@pytest.mark.parametrize(
    ("add", "first", "second", "key"),
    [
        (add_list, "Clients", "CLIENTS", "lists-name-taken"),
        (add_template, "Welcome", "welcome", "templates-name-taken"),
        (add_mailing, "News", "News", "mailings-name-taken"),
        (rename_mailing, "News", "News", "mailings-name-taken"),
    ],
    ids=["list", "template", "mailing", "mailing-renamed"],
)
async def test_the_loser_of_a_race_for_a_name_gets_the_clear_refusal(
    uow_factory: UnitOfWorkFactory, add: Add, first: str, second: str, key: str
) -> None:
    # Both passed the use case's check; the first writes, the second writes before the
    # first commits and waits for it (a row lock on PostgreSQL, the write lock on SQLite).
    async with uow_factory() as winner:
        await add(winner, first)
        async with uow_factory() as loser:
            racing = asyncio.create_task(add(loser, second))
            await asyncio.sleep(0.1)
            await winner.commit()
            with pytest.raises(Conflict) as refused:
                await racing
    assert (refused.value.key, refused.value.params) == (key, {"name": second})


async def test_archived_mailings_and_other_managers_keep_their_own_names(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        old = await uow.mailings.add(Mailing(MANAGER, "News", Channel.telegram))
        old.archived_at = old.created_at
        await uow.mailings.update(old)
        await uow.mailings.add(Mailing(MANAGER, "News", Channel.telegram))
        await uow.mailings.add(Mailing(OTHER, "News", Channel.telegram))
        await uow.commit()


@pytest.fixture
async def pg_engines(migrated_pg_url: str) -> AsyncIterator[list[AsyncEngine]]:
    engines = [create_engine(migrated_pg_url) for _ in range(4)]
    yield engines
    for engine in engines:
        await engine.dispose()


async def test_concurrent_creations_with_one_name_leave_exactly_one(
    pg_engines: list[AsyncEngine],
) -> None:
    factories = [make_uow_factory(create_session_factory(e)) for e in pg_engines]
    await roles.grant_role(
        factories[0], _Quiet(), actor_id=None, target_id=MANAGER, role=Role.manager
    )
    cases = {
        "lists-name-taken": lambda f, i: lists.create(f, MANAGER, ["Team", "team"][i % 2]),
        "templates-name-taken": lambda f, i: templates.create(f, MANAGER, "Promo", None, "Hi"),
        "mailings-name-taken": lambda f, i: mailings.create_draft(f, MANAGER, "Sale", "UTC"),
    }
    for key, create in cases.items():
        outcomes = await asyncio.gather(
            *(create(f, i) for i, f in enumerate(factories)), return_exceptions=True
        )
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(refused) == len(factories) - 1, outcomes
        assert {o.key for o in refused} == {key}


async def test_the_migration_renames_repeated_names_instead_of_failing() -> None:
    url = await fresh_pg_database()
    try:
        await upgrade(url, "0009")
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                for name in ("News", "news", "NEWS", "News (2)"):
                    await conn.execute(
                        text("INSERT INTO recipient_lists (name, owner_id) VALUES (:n, 1)"),
                        {"n": name},
                    )
                for name in ("Promo", "promo"):
                    await conn.execute(
                        text("INSERT INTO templates (name, owner_id, body) VALUES (:n, 1, 'b')"),
                        {"n": name},
                    )
                for owner, name, archived in (
                    (1, "Sale", False),
                    (1, "Sale", True),
                    (1, "Sale", False),
                    (2, "Sale", False),
                ):
                    await conn.execute(
                        text(
                            "INSERT INTO mailings (owner_id, name, channel, timezone,"
                            " archived_at) VALUES (:o, :n, 'telegram', 'UTC',"
                            " CASE WHEN :a THEN now() END)"
                        ),
                        {"o": owner, "n": name, "a": archived},
                    )
            await upgrade(url)
            async with engine.connect() as conn:
                names = {
                    table: [
                        row[0]
                        for row in await conn.execute(
                            text(f"SELECT name FROM {table} ORDER BY id")  # noqa: S608
                        )
                    ]
                    for table in ("recipient_lists", "templates", "mailings")
                }
        finally:
            await engine.dispose()
    finally:
        await drop_database(url)
    assert names == {
        "recipient_lists": ["News", "news (3)", "NEWS (4)", "News (2)"],
        "templates": ["Promo", "promo (2)"],
        "mailings": ["Sale", "Sale", "Sale (2)", "Sale"],  # the archived one keeps its name
    }
