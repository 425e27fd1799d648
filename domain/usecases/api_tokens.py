"""API tokens: made by staff for themselves (or from the console for anyone with a role),
listed and revoked by their owner or an admin, and checked on every API call."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.api_tokens import SHOWN_CHARS, ApiToken, clean_token_name, hash_secret, new_secret
from domain.errors import AccessDenied, NotFound, Unauthenticated
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.usecases.access import record, require_staff
from domain.users import User

TOUCH_EVERY = timedelta(minutes=1)  # last use is a hint for people, not an audit trail


async def create_token(
    uow_factory: UnitOfWorkFactory,
    actor_id: int | None,
    owner_id: int,
    name: str | None,
) -> tuple[ApiToken, str]:
    """A new token for ``owner_id`` and its secret (shown once, never stored).

    Staff make tokens for themselves; the console (``actor_id`` None) for anyone who
    holds a role."""
    async with uow_factory() as uow:
        if actor_id is not None:
            await require_staff(uow, actor_id)
            if actor_id != owner_id:
                raise AccessDenied("api-token-not-yours")
        owner = await uow.users.get(owner_id)
        if owner is None or not owner.is_staff:
            raise NotFound("api-token-owner-not-staff", user_id=owner_id)
        secret = new_secret()
        token = await uow.api_tokens.add(
            ApiToken(owner_id, clean_token_name(name), hash_secret(secret), secret[:SHOWN_CHARS])
        )
        await record(uow, actor_id, "api_token.create", ("user", owner_id), {"name": token.name})
        await uow.commit()
    return token, secret


async def list_tokens(uow_factory: UnitOfWorkFactory, actor_id: int) -> list[ApiToken]:
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        return await uow.api_tokens.for_owner(actor_id)


async def revoke_token(
    uow_factory: UnitOfWorkFactory, actor_id: int, token_id: int, now: datetime
) -> ApiToken:
    """The owner or an admin revokes; the token stops working at the next call."""
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        token = await uow.api_tokens.get(token_id)
        if token is None or (token.owner_id != actor_id and not actor.is_admin):
            raise NotFound("api-token-not-found")
        if token.id is not None and await uow.api_tokens.revoke(token.id, now):
            await record(uow, actor_id, "api_token.revoke", ("user", token.owner_id))
            await uow.commit()
        return token


async def authenticate(uow_factory: UnitOfWorkFactory, secret: str, now: datetime) -> User:
    """The token's owner with their role now; ``Unauthenticated`` for an unknown or
    revoked token or an owner who no longer holds a role."""
    async with uow_factory() as uow:
        return await authenticate_in(uow, secret, now)


async def authenticate_in(uow: UnitOfWork, secret: str, now: datetime) -> User:
    """``authenticate`` in the caller's unit of work (a read that follows shares it);
    the last use, when noted, is committed at once."""
    found = await uow.api_tokens.with_owner(hash_secret(secret))
    if found is None:
        raise Unauthenticated()
    token, owner = found
    user = token_owner(token, owner)
    if token.id is not None and _touch_due(token, now):
        await uow.api_tokens.touch(token.id, now)
        await uow.commit()
    return user


def token_owner(token: ApiToken, owner: User | None) -> User:
    """The owner a found token acts as: ``Unauthenticated`` when the token is revoked or
    the owner is gone or holds no role."""
    if not token.is_active or token.id is None or owner is None or not owner.is_staff:
        raise Unauthenticated()
    return owner


async def note_use(uow_factory: UnitOfWorkFactory, token: ApiToken, now: datetime) -> None:
    """Remember a use of a token read outside a unit of work (at most once a minute)."""
    if token.id is not None and _touch_due(token, now):
        async with uow_factory() as uow:
            await uow.api_tokens.touch(token.id, now)
            await uow.commit()


def _touch_due(token: ApiToken, now: datetime) -> bool:
    return token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
