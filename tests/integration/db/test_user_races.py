"""Users under concurrency: a new user's messages arriving together, admins revoking each
other at the same moment (issue 17, points 19 and 20)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from domain.errors import AccessDenied, LastAdminError
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases import roles
from domain.usecases.roles import SeenUser
from domain.users import Role, User
from infrastructure.db import create_engine, create_session_factory, make_uow_factory


class Quiet:
    async def access_changed(self, user: User) -> None:
        return None


@pytest.fixture
async def two_processes(migrated_pg_url: str) -> AsyncIterator[list[UnitOfWorkFactory]]:
    """Two engines (two connection pools), as two bot instances would have."""
    engines = [create_engine(migrated_pg_url), create_engine(migrated_pg_url)]
    yield [make_uow_factory(create_session_factory(engine)) for engine in engines]
    for engine in engines:
        await engine.dispose()


async def test_a_new_users_messages_arriving_together_both_find_the_user(
    uow_factory: UnitOfWorkFactory,
) -> None:
    for telegram_id in range(100, 120):
        seen = SeenUser(telegram_id, "newbie", "New Bie", "en")
        first, second = await asyncio.gather(
            roles.touch_user(uow_factory, seen), roles.touch_user(uow_factory, seen)
        )
        assert first.telegram_id == second.telegram_id == telegram_id
    async with uow_factory() as uow:
        user = await uow.users.get(119)
    assert user is not None and user.full_name == "New Bie"


async def test_two_admins_revoking_each_other_at_once_leave_one_admin(
    two_processes: list[UnitOfWorkFactory],
) -> None:
    first, second = two_processes
    for round_ in range(10):
        a, b = 1000 + 2 * round_, 1001 + 2 * round_
        for admin in (a, b):
            await roles.grant_role(first, Quiet(), actor_id=None, target_id=admin, role=Role.admin)
        if round_:  # the survivor of the last round steps down: a and b are the only admins
            survivor = a - 2 if await is_admin(first, a - 2) else a - 1
            await roles.revoke_role(first, Quiet(), actor_id=None, target_id=survivor)
        outcomes = await asyncio.gather(
            roles.revoke_role(first, Quiet(), actor_id=a, target_id=b),
            roles.revoke_role(second, Quiet(), actor_id=b, target_id=a),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, LastAdminError | AccessDenied)]
        assert len(refused) == 1, outcomes
        assert [await is_admin(first, u) for u in (a, b)].count(True) == 1
        assert await roles.has_active_admin(first)


async def test_an_admin_demoting_the_other_while_being_revoked_keeps_one_admin(
    two_processes: list[UnitOfWorkFactory],
) -> None:
    first, second = two_processes
    for admin in (1, 2):
        await roles.grant_role(first, Quiet(), actor_id=None, target_id=admin, role=Role.admin)
    outcomes = await asyncio.gather(
        roles.grant_role(first, Quiet(), actor_id=1, target_id=2, role=Role.manager),
        roles.revoke_role(second, Quiet(), actor_id=2, target_id=1),
        return_exceptions=True,
    )
    assert sum(isinstance(o, Exception) for o in outcomes) == 1, outcomes
    assert await roles.has_active_admin(first)


async def is_admin(uow_factory: UnitOfWorkFactory, telegram_id: int) -> bool:
    async with uow_factory() as uow:
        user = await uow.users.get(telegram_id)
    return user is not None and user.is_admin
