"""API tokens: a bearer secret that acts as its owner, with the owner's role at the time
of each call (a revoked role or a removed user stops the token at once).

Only a hash of the secret is stored; the secret is shown once when it is made. Secrets
carry 256 random bits, so a plain SHA-256 is enough (no password stretching needed),
and the lookup by hash is one indexed read per call.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

SECRET_PREFIX = "mf_"  # noqa: S105 (a marker that makes leaked tokens easy to find)
NAME_MAX = 64
SHOWN_CHARS = 8  # the start of a secret, shown in lists so people can tell tokens apart


@dataclass(slots=True)
class ApiToken:
    owner_id: int
    name: str
    token_hash: str
    hint: str  # the secret's first characters, never enough to use it
    id: int | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def clean_token_name(name: str | None) -> str:
    """Names are for people: whitespace folded, cut to ``NAME_MAX``; empty → "token"."""
    folded = " ".join((name or "").split())
    return folded[:NAME_MAX] or "token"


class ApiTokenStore(Protocol):
    """Tokens by owner; writes join the unit of work's transaction."""

    async def add(self, token: ApiToken) -> ApiToken:
        """Store a new token; returns it with ``id`` and ``created_at`` set."""

    async def by_hash(self, token_hash: str) -> ApiToken | None: ...

    async def get(self, token_id: int) -> ApiToken | None: ...

    async def for_owner(self, owner_id: int) -> list[ApiToken]:
        """The owner's tokens, revoked ones included, newest first."""

    async def revoke(self, token_id: int, now: datetime) -> bool:
        """Mark it revoked; ``False`` when it was already revoked or is unknown."""

    async def touch(self, token_id: int, now: datetime) -> None:
        """Remember the last use (best effort, at most once a minute is enough)."""
