"""The admin's look at a provider account: read-only, admins only."""

from __future__ import annotations

from domain.account_check import AccountCheck
from domain.errors import AccessDenied
from domain.ports.channels import AccountChecker
from domain.ports.uow import UnitOfWorkFactory


async def check_account(
    uow_factory: UnitOfWorkFactory, checker: AccountChecker | None, *, actor_id: int
) -> AccountCheck | None:
    """What ``checker`` finds, or None when the provider is not configured."""
    async with uow_factory() as uow:
        actor = await uow.users.get(actor_id)
        if actor is None or not actor.is_admin:
            raise AccessDenied()
    return None if checker is None else await checker.check()
