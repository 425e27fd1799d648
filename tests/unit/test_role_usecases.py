"""Who grants and revokes roles (``domain.usecases.roles``): only active admins, never
leaving the installation without an admin, each change audited and told to the person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import AccessDenied, InvalidInput, LastAdminError, NotFound
from domain.usecases import roles
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

ADMIN, MANAGER, STRANGER = 1001, 2002, 3003
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


class Told:
    """The ``AccessNotifier``: who was told that their access changed, with which role."""

    def __init__(self) -> None:
        self.people: list[tuple[int, Role | None]] = []

    async def access_changed(self, user: User) -> None:
        self.people.append((user.telegram_id, user.role if user.is_staff else None))


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(
        users=[
            User(ADMIN, role=Role.admin),
            User(MANAGER, username="mona", role=Role.manager, granted_by=ADMIN),
            User(STRANGER, username="Ann_K"),
        ]
    )


def role_of(db: MemoryDatabase, user_id: int) -> Role | None:
    user = db.users.get(user_id)
    return user.role if user and user.is_staff else None


async def test_an_admin_grants_a_role_the_person_is_told_and_it_is_audited(
    db: MemoryDatabase,
) -> None:
    told = Told()
    granted = await roles.grant_role(
        db.uow_factory,
        told,
        actor_id=ADMIN,
        target_id=STRANGER,
        role=Role.manager,
        clock=FixedClock(),
    )
    assert granted.display_name == "@Ann_K"
    assert role_of(db, STRANGER) is Role.manager
    stored = db.users[STRANGER]
    assert (stored.granted_by, stored.granted_at) == (ADMIN, NOW)
    assert told.people == [(STRANGER, Role.manager)]
    [entry] = db.audit
    assert (entry.actor_id, entry.action, entry.target_id, entry.details) == (
        ADMIN,
        "role.grant",
        str(STRANGER),
        {"role": "manager", "previous": None},
    )


async def test_a_role_can_go_to_someone_the_bot_has_never_seen(db: MemoryDatabase) -> None:
    await roles.grant_role(db.uow_factory, Told(), actor_id=ADMIN, target_id=5000, role=Role.admin)
    assert role_of(db, 5000) is Role.admin


async def test_a_revoke_takes_the_role_at_once_and_is_audited(db: MemoryDatabase) -> None:
    told = Told()
    revoked = await roles.revoke_role(db.uow_factory, told, actor_id=ADMIN, target_id=MANAGER)
    assert revoked.display_name == "@mona"
    assert role_of(db, MANAGER) is None
    assert told.people == [(MANAGER, None)]
    [entry] = db.audit
    assert (entry.actor_id, entry.action, entry.target_id, entry.details) == (
        ADMIN,
        "role.revoke",
        str(MANAGER),
        {"previous": "manager"},
    )


@pytest.mark.parametrize("actor", [MANAGER, STRANGER, 9999])
async def test_only_an_admin_grants_revokes_or_lists_staff(db: MemoryDatabase, actor: int) -> None:
    told = Told()
    with pytest.raises(AccessDenied):
        await roles.grant_role(
            db.uow_factory, told, actor_id=actor, target_id=STRANGER, role=Role.admin
        )
    with pytest.raises(AccessDenied):
        await roles.revoke_role(db.uow_factory, told, actor_id=actor, target_id=ADMIN)
    with pytest.raises(AccessDenied):
        await roles.list_staff(db.uow_factory, actor_id=actor, page=0)
    assert (role_of(db, STRANGER), role_of(db, ADMIN)) == (None, Role.admin)
    assert told.people == [] and db.audit == [] and db.committed == 0


async def test_a_revoked_admin_grants_nothing(db: MemoryDatabase) -> None:
    db.users[ADMIN].is_active = False
    with pytest.raises(AccessDenied):
        await roles.grant_role(
            db.uow_factory, Told(), actor_id=ADMIN, target_id=STRANGER, role=Role.manager
        )


async def test_the_console_is_trusted(db: MemoryDatabase) -> None:
    await roles.grant_role(
        db.uow_factory, Told(), actor_id=None, target_id=STRANGER, role=Role.admin
    )
    assert role_of(db, STRANGER) is Role.admin and db.audit[0].actor_id is None


async def test_the_last_admin_can_be_neither_revoked_nor_demoted(db: MemoryDatabase) -> None:
    told = Told()
    with pytest.raises(LastAdminError):
        await roles.revoke_role(db.uow_factory, told, actor_id=ADMIN, target_id=ADMIN)
    with pytest.raises(LastAdminError):
        await roles.grant_role(
            db.uow_factory, told, actor_id=ADMIN, target_id=ADMIN, role=Role.manager
        )
    with pytest.raises(LastAdminError):  # not from the console either
        await roles.revoke_role(db.uow_factory, told, actor_id=None, target_id=ADMIN)
    assert role_of(db, ADMIN) is Role.admin and told.people == [] and db.audit == []


async def test_a_second_admin_can_demote_or_revoke_the_first(db: MemoryDatabase) -> None:
    told = Told()
    await roles.grant_role(
        db.uow_factory, told, actor_id=ADMIN, target_id=MANAGER, role=Role.admin
    )
    await roles.grant_role(
        db.uow_factory, told, actor_id=MANAGER, target_id=ADMIN, role=Role.manager
    )
    assert (role_of(db, ADMIN), role_of(db, MANAGER)) == (Role.manager, Role.admin)
    assert db.audit[-1].details == {"role": "manager", "previous": "admin"}
    with pytest.raises(AccessDenied):  # a manager now: no more granting
        await roles.grant_role(
            db.uow_factory, told, actor_id=ADMIN, target_id=ADMIN, role=Role.admin
        )
    with pytest.raises(LastAdminError):
        await roles.revoke_role(db.uow_factory, told, actor_id=MANAGER, target_id=MANAGER)


@pytest.mark.parametrize("target", [STRANGER, 9999])
async def test_revoking_someone_without_a_role_says_so(db: MemoryDatabase, target: int) -> None:
    with pytest.raises(NotFound) as refused:
        await roles.revoke_role(db.uow_factory, Told(), actor_id=ADMIN, target_id=target)
    assert refused.value.key == "error-not-staff"
    assert db.audit == []


@pytest.mark.parametrize(
    ("ref", "found"),
    [("3003", STRANGER), (" -100 ", -100), ("@ann_k", STRANGER), ("@ANN_K", STRANGER)],
)
async def test_a_person_is_named_by_id_or_a_username_the_bot_has_seen(
    db: MemoryDatabase, ref: str, found: int
) -> None:
    assert await roles.resolve_user(db.uow_factory, ref) == found


async def test_an_unknown_username_and_a_bad_reference_are_told_apart(db: MemoryDatabase) -> None:
    with pytest.raises(NotFound) as unknown:
        await roles.resolve_user(db.uow_factory, "@nobody_here")
    assert unknown.value.key == "error-unknown-username"
    for ref in ("abc", "@", "", "12a"):
        with pytest.raises(InvalidInput) as bad:
            await roles.resolve_user(db.uow_factory, ref)
        assert bad.value.key == "error-bad-user-ref", ref


async def test_staff_are_listed_admins_first_by_pages(db: MemoryDatabase) -> None:
    for user_id in range(5000, 5012):
        await roles.grant_role(
            db.uow_factory, Told(), actor_id=ADMIN, target_id=user_id, role=Role.manager
        )
    first = await roles.list_staff(db.uow_factory, actor_id=ADMIN, page=0)
    assert (first.total, first.pages, first.has_next, first.has_prev) == (14, 2, True, False)
    assert [u.telegram_id for u in first.items][:3] == [ADMIN, MANAGER, 5000]
    second = await roles.list_staff(db.uow_factory, actor_id=ADMIN, page=1)
    assert [u.telegram_id for u in second.items] == [5008, 5009, 5010, 5011]
    assert second.has_prev and not second.has_next
    negative = await roles.list_staff(db.uow_factory, actor_id=ADMIN, page=-3)
    assert negative.page == 0


async def test_configured_admins_are_promoted_once_and_audited() -> None:
    db = MemoryDatabase(users=[User(MANAGER, role=Role.manager)])
    promoted = await roles.ensure_admins(db.uow_factory, [ADMIN, MANAGER], clock=FixedClock())
    assert promoted == [ADMIN, MANAGER]
    assert (role_of(db, ADMIN), role_of(db, MANAGER)) == (Role.admin, Role.admin)
    assert [(e.actor_id, e.action, e.target_id) for e in db.audit] == [
        (None, "role.grant", str(ADMIN)),
        (None, "role.grant", str(MANAGER)),
    ]
    assert db.audit[0].details == {"role": "admin", "source": "ADMIN_IDS"}
    assert await roles.ensure_admins(db.uow_factory, [ADMIN, MANAGER]) == []
    assert len(db.audit) == 2
    assert await roles.has_active_admin(db.uow_factory)
    assert not await roles.has_active_admin(MemoryDatabase().uow_factory)
