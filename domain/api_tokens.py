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
