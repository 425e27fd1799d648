"""What every API route may use, and who is calling (``Caller``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.api.limits import TokenRateLimit
from domain.api_tokens import hash_secret
from domain.clock import Clock
from domain.errors import Unauthenticated
from domain.ports.api import TokenRunReader
from domain.ports.recipients import MemberUpserter
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.api_tokens import authenticate
from domain.users import User
from handlers.services import Services


@dataclass
class ApiContext:
    """The bot's own ``Services`` (the same use cases and adapters) and the API's extras."""

    services: Services
    members: MemberUpserter
    runs: TokenRunReader  # ``GET /runs/{id}``'s one read
    rate_limit: TokenRateLimit

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self.services.uow_factory

    @property
    def clock(self) -> Clock:
        return self.services.clock


# The dependencies are coroutines though they wait for nothing: FastAPI runs a plain
# function in a thread of its pool, and each such call handed the interpreter to that
# thread and back (two per call, each a wait for the delivery thread's turn while a run
# sends in the bot's process).


async def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


Context = Annotated[ApiContext, Depends(context)]
bearer = HTTPBearer(auto_error=False, description="A token made in the bot with /token")


async def bearer_secret(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The token the call carries (not checked yet): 401 when there is none."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("api-token-missing")
    return credentials.credentials.strip()


Secret = Annotated[str, Depends(bearer_secret)]


async def caller(ctx: Context, secret: Secret) -> User:
    """The token's owner with their role now: 401 for a missing, unknown or revoked
    token or an owner without a role, 429 past the token's rate."""
    user = await authenticate(ctx.uow_factory, secret, ctx.clock.now())
    await ctx.rate_limit.check(hash_secret(secret))
    return user


Caller = Annotated[User, Depends(caller)]
