"""Who is calling: every use case that staff may run starts here."""

from __future__ import annotations

from collections.abc import Mapping

from domain.audit import AuditEntry
from domain.errors import AccessDenied
from domain.ports.uow import UnitOfWork
from domain.users import User


async def require_staff(uow: UnitOfWork, actor_id: int) -> User:
    """The caller if they hold an active role now (a revoked role bites at once)."""
    actor = await uow.users.get(actor_id)
    if actor is None or not actor.is_staff:
        raise AccessDenied()
    return actor


async def record(
    uow: UnitOfWork,
    actor_id: int | None,
    action: str,
    target: tuple[str, object],
    details: Mapping[str, object] | None = None,
) -> None:
    """Write who did what to the audit log, in the caller's transaction."""
    target_type, target_id = target
    await uow.audit.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=dict(details or {}),
        )
    )
