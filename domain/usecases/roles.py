"""Who may use the bot: seeing users, granting and revoking roles.

Only active admins grant or revoke. The last active admin can be neither revoked
nor demoted, so an installation can never lock itself out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.audit import AuditEntry
from domain.clock import Clock, SystemClock
from domain.errors import AccessDenied, InvalidInput, LastAdminError, NotFound
from domain.pagination import Page
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.ports.users import AccessNotifier
from domain.users import Role, User


@dataclass(frozen=True, slots=True)
class SeenUser:
    """What an update tells about its sender."""

    telegram_id: int
    username: str | None
    full_name: str
    language: str | None


async def touch_user(uow_factory: UnitOfWorkFactory, seen: SeenUser) -> User:
    """Load the caller, creating or refreshing their profile when it changed."""
    async with uow_factory() as uow:
        user = await uow.users.get(seen.telegram_id)
        if user is None:
            profile = User(
                telegram_id=seen.telegram_id,
                username=seen.username,
                full_name=seen.full_name,
                language=seen.language,
            )
            user = await uow.users.add_or_get(profile)
            await uow.commit()
            return user
        if (user.username, user.full_name, user.language) != (
            seen.username,
            seen.full_name,
            seen.language,
        ):
            user.username, user.full_name = seen.username, seen.full_name
            user.language = seen.language
            await uow.users.update(user)
            await uow.commit()
        return user


async def _require_admin(uow: UnitOfWork, actor_id: int | None) -> None:
    """``actor_id=None`` is the operator at the console (``mailforge admin``), trusted."""
    if actor_id is None:
        return
    actor = await uow.users.get(actor_id)
    if actor is None or not actor.is_admin:
        raise AccessDenied()


async def resolve_user(uow_factory: UnitOfWorkFactory, ref: str) -> int:
    """Turn a user id or a ``@username`` the bot has seen into a Telegram id."""
    ref = ref.strip()
    if ref.lstrip("-").isdigit():
        return int(ref)
    if ref.startswith("@") and len(ref) > 1:
        async with uow_factory() as uow:
            user = await uow.users.get_by_username(ref[1:])
        if user is None:
            raise NotFound("error-unknown-username", username=ref)
        return user.telegram_id
    raise InvalidInput("error-bad-user-ref", ref=ref)


async def grant_role(
    uow_factory: UnitOfWorkFactory,
    notifier: AccessNotifier,
    *,
    actor_id: int | None,
    target_id: int,
    role: Role,
    clock: Clock | None = None,
) -> User:
    """Give ``target_id`` a role; an admin demoted to manager is checked like a revoke."""
    clock = clock or SystemClock()
    async with uow_factory() as uow:
        await uow.users.lock_admins()  # first: the checks below then see the latest roles
        await _require_admin(uow, actor_id)
        target = await uow.users.add_or_get(User(telegram_id=target_id))
        if target.is_admin and role is not Role.admin:
            await _ensure_not_last_admin(uow)
        previous = target.role.value if target.is_staff and target.role else None
        target.role, target.is_active = role, True
        target.granted_by, target.granted_at = actor_id, clock.now()
        await uow.users.update(target)
        await uow.audit.add(
            AuditEntry(
                actor_id=actor_id,
                action="role.grant",
                target_type="user",
                target_id=str(target_id),
                details={"role": role.value, "previous": previous},
            )
        )
        await uow.commit()
    await notifier.access_changed(target)
    return target


async def revoke_role(
    uow_factory: UnitOfWorkFactory,
    notifier: AccessNotifier,
    *,
    actor_id: int | None,
    target_id: int,
) -> User:
    """Take every role from ``target_id``; they lose access on their next update."""
    async with uow_factory() as uow:
        await uow.users.lock_admins()  # first: the checks below then see the latest roles
        await _require_admin(uow, actor_id)
        target = await uow.users.get(target_id)
        if target is None or not target.is_staff:
            raise NotFound("error-not-staff", user_id=target_id)
        if target.is_admin:
            await _ensure_not_last_admin(uow)
        previous = target.role.value if target.role else None
        target.role = None
        await uow.users.update(target)
        await uow.audit.add(
            AuditEntry(
                actor_id=actor_id,
                action="role.revoke",
                target_type="user",
                target_id=str(target_id),
                details={"previous": previous},
            )
        )
        await uow.commit()
    await notifier.access_changed(target)
    return target


async def _ensure_not_last_admin(uow: UnitOfWork) -> None:
    if await uow.users.count_active(Role.admin) <= 1:
        raise LastAdminError()


async def list_staff(
    uow_factory: UnitOfWorkFactory, *, actor_id: int | None, page: int, size: int = 10
) -> Page[User]:
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
        return await uow.users.list_staff(max(page, 0), size)


async def ensure_admins(
    uow_factory: UnitOfWorkFactory, admin_ids: Iterable[int], clock: Clock | None = None
) -> list[int]:
    """Make the configured ``ADMIN_IDS`` admins at start; returns the ids promoted now."""
    clock = clock or SystemClock()
    promoted: list[int] = []
    async with uow_factory() as uow:
        for telegram_id in admin_ids:
            user = await uow.users.add_or_get(User(telegram_id=telegram_id))
            if user.is_admin:
                continue
            user.role, user.is_active, user.granted_at = Role.admin, True, clock.now()
            user.granted_by = None
            await uow.users.update(user)
            await uow.audit.add(
                AuditEntry(
                    actor_id=None,
                    action="role.grant",
                    target_type="user",
                    target_id=str(telegram_id),
                    details={"role": Role.admin.value, "source": "ADMIN_IDS"},
                )
            )
            promoted.append(telegram_id)
        await uow.commit()
    return promoted


async def has_active_admin(uow_factory: UnitOfWorkFactory) -> bool:
    async with uow_factory() as uow:
        return await uow.users.count_active(Role.admin) > 0
