"""Users, audit log, templates and the unit of work, on PostgreSQL and on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import StatementError

from domain.api_tokens import ApiToken
from domain.audit import AuditEntry
from domain.errors import NotFound
from domain.ports.uow import UnitOfWorkFactory
from domain.templates import Template
from domain.users import Role, User

MOSCOW = ZoneInfo("Europe/Moscow")
GRANTED = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=MOSCOW)


def assert_utc(moment: datetime | None) -> None:
    assert moment is not None and moment.utcoffset() == timedelta(0)


async def add_users(uow_factory: UnitOfWorkFactory, *users: User) -> None:
    async with uow_factory() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()


async def test_a_user_round_trips_every_field(uow_factory: UnitOfWorkFactory) -> None:
    alice = User(
        telegram_id=7_000_000_001,  # beyond 32 bits, as real Telegram ids are
        username="Alice_Smith",
        full_name="Алиса Смит",
        language="ru",
        role=Role.manager,
        is_active=False,
        granted_by=42,
        granted_at=GRANTED,
    )
    await add_users(uow_factory, alice)
    assert_utc(alice.created_at)

    async with uow_factory() as uow:
        loaded = await uow.users.get(7_000_000_001)
        assert await uow.users.get(1) is None

    assert loaded == alice
    assert loaded is not None and loaded.granted_at == GRANTED
    assert_utc(loaded.granted_at)
    assert_utc(loaded.created_at)


async def test_update_rewrites_the_profile_and_role(uow_factory: UnitOfWorkFactory) -> None:
    await add_users(uow_factory, User(telegram_id=5, username="old", role=Role.admin))
    async with uow_factory() as uow:
        user = await uow.users.get(5)
        assert user is not None
        user.username, user.full_name, user.language = "new", "New Name", "en"
        user.role, user.granted_by, user.granted_at = None, 9, GRANTED
        await uow.users.update(user)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(5) == user
        with pytest.raises(NotFound):
            await uow.users.update(User(telegram_id=404))


async def test_get_by_username_ignores_case_and_the_at_sign(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add_users(uow_factory, User(telegram_id=1, username="Alice_Smith"), User(telegram_id=2))
    async with uow_factory() as uow:
        for ref in ("alice_smith", "ALICE_SMITH", "@Alice_smith"):
            found = await uow.users.get_by_username(ref)
            assert found is not None and found.telegram_id == 1
        assert await uow.users.get_by_username("alice") is None


async def test_count_active_counts_only_active_holders_of_the_role(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add_users(
        uow_factory,
        User(telegram_id=1, role=Role.admin),
        User(telegram_id=2, role=Role.admin),
        User(telegram_id=3, role=Role.admin, is_active=False),
        User(telegram_id=4, role=Role.manager),
        User(telegram_id=5),
    )
    async with uow_factory() as uow:
        assert await uow.users.count_active(Role.admin) == 2
        assert await uow.users.count_active(Role.manager) == 1


async def test_list_staff_pages_admins_first_then_by_id(uow_factory: UnitOfWorkFactory) -> None:
    await add_users(
        uow_factory,
        *(User(telegram_id=i, role=Role.manager) for i in (10, 30, 20)),
        User(telegram_id=50, role=Role.admin),
        User(telegram_id=40, role=Role.admin, is_active=False),
        User(telegram_id=1),
        User(telegram_id=2),
    )
    async with uow_factory() as uow:
        first = await uow.users.list_staff(page=0, size=2)
        second = await uow.users.list_staff(page=1, size=2)
        last = await uow.users.list_staff(page=2, size=2)

    assert [u.telegram_id for u in first.items] == [40, 50]
    assert [u.telegram_id for u in second.items] == [10, 20]
    assert [u.telegram_id for u in last.items] == [30]
    assert (first.total, first.pages, first.has_next, last.has_next) == (5, 3, True, False)
    assert (last.page, last.size) == (2, 2)


async def test_the_audit_log_returns_newest_entries_first(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for n in range(3):
            entry = AuditEntry(
                actor_id=1,
                action="role.grant",
                target_type="user",
                target_id=str(n),
                details={"роль": "admin", "n": n, "previous": None},
            )
            await uow.audit.add(entry)
            assert entry.id is not None
            assert_utc(entry.created_at)
        await uow.audit.add(
            AuditEntry(actor_id=None, action="boot", target_type="-", target_id="")
        )
        await uow.commit()

    async with uow_factory() as uow:
        recent = await uow.audit.recent(limit=3)

    assert [e.target_id for e in recent] == ["", "2", "1"]
    assert recent[0].actor_id is None and recent[0].details == {}
    assert recent[1].details == {"роль": "admin", "n": 2, "previous": None}
    assert_utc(recent[1].created_at)


async def test_templates_round_trip_update_list_and_delete(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        greeting = await uow.templates.add(
            Template(name="Привет", owner_id=1, body="Здравствуйте, {name}!", subject="Новости")
        )
        plain = await uow.templates.add(Template(name="Plain", owner_id=2, body="Hi"))
        await uow.commit()
    assert greeting.id is not None and plain.id is not None
    assert_utc(greeting.created_at)

    async with uow_factory() as uow:
        assert await uow.templates.get(greeting.id) == greeting
        plain.body, plain.subject = "Hello", "Subject"
        await uow.templates.update(plain)
        await uow.templates.delete(greeting.id)
        await uow.commit()

    async with uow_factory() as uow:
        remaining = await uow.templates.all()
        assert await uow.templates.get(greeting.id) is None
    assert [(t.id, t.body, t.subject) for t in remaining] == [(plain.id, "Hello", "Subject")]


async def test_nothing_is_kept_without_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.users.add(User(telegram_id=1))
    async with uow_factory() as uow:
        await uow.users.add(User(telegram_id=2))
        await uow.rollback()
        await uow.commit()
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.users.add(User(telegram_id=3))
            raise RuntimeError("boom")

    async with uow_factory() as uow:
        assert [await uow.users.get(i) for i in (1, 2, 3)] == [None, None, None]


async def test_a_committed_unit_of_work_can_go_on_in_a_new_transaction(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.users.add(User(telegram_id=1))
        await uow.commit()
        await uow.users.add(User(telegram_id=2))

    async with uow_factory() as uow:
        assert await uow.users.get(1) is not None
        assert await uow.users.get(2) is None


async def test_naive_datetimes_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    naive = datetime(2025, 1, 1, 12, 0)  # its zone would be a guess
    async with uow_factory() as uow:
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.users.add(User(telegram_id=1, granted_at=naive))
        await uow.rollback()
        await uow.users.add(User(telegram_id=1, granted_at=naive.replace(tzinfo=UTC)))


async def test_a_token_is_read_with_its_owner_in_one_go(uow_factory: UnitOfWorkFactory) -> None:
    owner = User(telegram_id=7, role=Role.manager)
    await add_users(uow_factory, owner)
    async with uow_factory() as uow:
        mine = await uow.api_tokens.add(ApiToken(7, "shop", "h1", "mf_a"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.api_tokens.with_owner("h1")
        assert found is not None and found[0] == mine
        assert found[1] is not None and (found[1].telegram_id, found[1].role) == (7, Role.manager)
        assert await uow.api_tokens.with_owner("nope") is None
