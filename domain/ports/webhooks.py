"""Event webhooks: the endpoints and their outbox (``uow.webhooks``: ``usecases.webhooks``),
and the POST of one event (``usecases.webhooks``: the sender and the test POSTs of the
``/hooks`` dialog and the API).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from domain.webhooks import (
    Answer,
    Claimed,
    Endpoint,
    EndpointHealth,
    EventType,
    OutboxItem,
)


class WebhookStore(Protocol):
    """Endpoints and the outbox; writes join the unit of work's transaction."""

    async def add(self, endpoint: Endpoint) -> Endpoint:
        """Store a new endpoint; returns it with ``id`` and ``created_at`` set."""

    async def get(self, endpoint_id: int) -> Endpoint | None: ...

    async def all(self) -> list[Endpoint]:
        """Every endpoint, oldest first."""

    async def delete(self, endpoint_id: int) -> bool:
        """Remove it with its outbox rows; ``False`` when unknown."""

    async def subscribed(self, types: frozenset[EventType]) -> list[Endpoint]:
        """The endpoints that want at least one of ``types``."""

    async def enqueue(self, items: Sequence[OutboxItem]) -> int:
        """Add rows; a row whose (endpoint, event id) is already there is left out.
        How many were added."""

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """Pending rows due by ``now``, oldest first: each gets one more attempt and is
        not due again before ``now + lease`` (a crashed sender's rows come back then).
        Of two concurrent claims, each row goes to one."""

    async def record(self, item: OutboxItem) -> None:
        """Store a claimed row's outcome (status, attempts, next_at, last answer)."""

    async def purge_sent(self, created_before: datetime, limit: int) -> int:
        """Delete at most ``limit`` sent rows created before ``created_before`` (pending
        and failed rows stay); how many went."""

    async def health(self, endpoint_id: int, failures: int) -> EndpointHealth | None:
        """The endpoint, its pending count and its ``failures`` latest unsent rows with
        an error (given up on, or waiting for a retry), newest first."""


class WebhookPoster(Protocol):
    """POSTs one event to a receiver's URL, the address checked again at every send (a
    name may resolve elsewhere since it was registered). Never raises for the receiver's
    failure: an answer without a status says why."""

    async def check(self, url: str) -> str:
        """The URL cleaned, or ``DomainError`` (``fetch-bad-url``, a private address…)."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer: ...
