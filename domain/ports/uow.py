"""The unit of work: one transaction over the write-side repositories (every use case that
changes stored data).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from domain.ports.api import ApiTokenStore, IdempotencyStore
from domain.ports.audit import AuditLog
from domain.ports.engagement import BounceStore, TrackingStore
from domain.ports.mailings import MailingRepository, RunRepository, TemplateRepository
from domain.ports.recipients import AddressRepository, Audiences, ListCatalogue, ListMembers
from domain.ports.segments import SegmentStore
from domain.ports.users import UserRepository
from domain.ports.webhooks import WebhookStore


class UnitOfWork(Protocol):
    """One transaction over the repositories a change needs; rolls back on exit unless
    committed. Statistics are read outside it (``domain.ports.stats.StatsReader``)."""

    users: UserRepository
    audit: AuditLog
    addresses: AddressRepository
    lists: ListCatalogue
    members: ListMembers
    audiences: Audiences
    templates: TemplateRepository
    mailings: MailingRepository
    runs: RunRepository
    bounces: BounceStore
    tracking: TrackingStore
    api_tokens: ApiTokenStore
    segments: SegmentStore
    idempotency: IdempotencyStore
    webhooks: WebhookStore

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
