"""Who may run a staff use case (``domain.usecases.access``): a role that is active now,
and every such action is audited in the caller's transaction."""

from __future__ import annotations

import pytest

from domain.errors import AccessDenied
from domain.usecases.access import record, require_staff
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (User(1, role=Role.admin), True),
        (User(1, role=Role.manager), True),
        (User(1), False),  # a stranger: seen by the bot, no role
        (User(1, role=Role.manager, is_active=False), False),  # revoked: bites at once
        (None, False),  # never seen
    ],
)
async def test_only_an_active_role_is_staff(user: User | None, allowed: bool) -> None:
    db = MemoryDatabase(users=[user] if user else [])
    async with db.uow_factory() as uow:
        if allowed:
            assert (await require_staff(uow, 1)).telegram_id == 1
        else:
            with pytest.raises(AccessDenied):
                await require_staff(uow, 1)


async def test_the_audit_entry_lives_and_dies_with_the_callers_transaction() -> None:
    db = MemoryDatabase(users=[User(1, role=Role.admin)])
    async with db.uow_factory() as uow:
        await record(uow, 1, "list.delete", ("list", 7), {"name": "Old"})
    assert db.audit == []  # rolled back with the change it described
    async with db.uow_factory() as uow:
        await record(uow, 1, "list.delete", ("list", 7), {"name": "Old"})
        await uow.commit()
    [entry] = db.audit
    assert (entry.actor_id, entry.action, entry.target_type, entry.target_id) == (
        1,
        "list.delete",
        "list",
        "7",
    )
    assert entry.details == {"name": "Old"}
