"""Idempotent launches over the API: an ``Idempotency-Key`` names one launch of its
caller. The first call reserves the key with a hash of its request and records the run it
made; a repeat with the same request gets that run again (never a second one), a repeat
with another request is refused, and a repeat while the first is still launching is told
to retry. A launch that fails releases its key, so it can be tried again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

KEY_MAX = 200


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    actor_id: int
    key: str
    request_hash: str
    run_id: int | None  # None while the first call is still launching
    created_at: datetime | None = None


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join((method.encode(), path.encode(), body))).hexdigest()
