"""What the HTTP API keeps: its tokens and the idempotency keys of its launches
(``usecases.api_tokens``, ``launch_once``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.api_tokens import ApiToken
from domain.idempotency import IdempotencyRecord
from domain.mailings import Ownership
from domain.runs import MailingRun
from domain.users import User

# A token, its owner (None: no such user) and a run with its mailing's ownership (None:
# no such run).
TokenAndRun = tuple[ApiToken, User | None, tuple[MailingRun, Ownership] | None]


class ApiTokenStore(Protocol):
    """Tokens by owner; writes join the unit of work's transaction."""

    async def add(self, token: ApiToken) -> ApiToken:
        """Store a new token; returns it with ``id`` and ``created_at`` set."""

    async def with_owner(self, token_hash: str) -> tuple[ApiToken, User | None] | None:
        """The token and its owner (``None``: no such user), in one read: every API call
        checks them."""

    async def get(self, token_id: int) -> ApiToken | None: ...

    async def for_owner(self, owner_id: int) -> list[ApiToken]:
        """The owner's tokens, revoked ones included, newest first."""

    async def revoke(self, token_id: int, now: datetime) -> bool:
        """Mark it revoked; ``False`` when it was already revoked or is unknown."""

    async def touch(self, token_id: int, now: datetime) -> None:
        """Remember the last use (best effort, at most once a minute is enough)."""


class TokenRunReader(Protocol):
    """The read behind ``GET /runs/{id}``, the call clients poll while a run sends."""

    async def token_and_run(self, token_hash: str, run_id: int) -> TokenAndRun | None:
        """``ApiTokenStore.with_owner`` (``None``: no such token) and
        ``RunRepository.get_with_ownership(run_id)`` at one instant, in one read outside
        any unit of work."""


class IdempotencyStore(Protocol):
    async def reserve(
        self, actor_id: int, key: str, request_hash: str
    ) -> IdempotencyRecord | None:
        """Take the key (``None``), or return the record that holds it already; of two
        concurrent reservations of one key, exactly one takes it."""

    async def complete(self, actor_id: int, key: str, run_id: int) -> None: ...

    async def release(self, actor_id: int, key: str) -> None: ...
