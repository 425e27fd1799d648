"""The unit of work: one session, one transaction, every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.ports.api import ApiTokenStore, IdempotencyStore
from domain.ports.audit import AuditLog
from domain.ports.engagement import BounceStore, TrackingStore
from domain.ports.mailings import MailingRepository, RunRepository, TemplateRepository
from domain.ports.recipients import AddressRepository, Audiences, ListCatalogue, ListMembers
from domain.ports.segments import SegmentStore
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.ports.users import UserRepository
from domain.ports.webhooks import WebhookStore
from infrastructure.db.repositories import (
    SqlAddressRepository,
    SqlAuditLog,
    SqlMailingRepository,
    SqlRecipientListRepository,
    SqlRunRepository,
    SqlTemplateRepository,
    SqlUserRepository,
)
from infrastructure.db.repositories.api_tokens import SqlApiTokenStore, SqlIdempotencyStore
from infrastructure.db.repositories.engagement import SqlBounceStore, SqlTrackingStore
from infrastructure.db.repositories.segments import SqlSegmentStore
from infrastructure.db.repositories.webhooks import SqlWebhookStore


class SqlAlchemyUnitOfWork:
    """Rolls back on exit unless committed; usable once per ``async with``."""

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

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """For other adapters that must join this transaction (the delivery engine)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not entered")
        return self._session

    async def __aenter__(self) -> Self:
        session = self._session = self._session_factory()
        self.users = SqlUserRepository(session)
        self.audit = SqlAuditLog(session)
        self.addresses = SqlAddressRepository(session)
        # One class answers the three list ports (catalogue, members, audiences).
        self.lists = self.members = self.audiences = SqlRecipientListRepository(session)
        self.templates = SqlTemplateRepository(session)
        self.mailings = SqlMailingRepository(session)
        self.runs = SqlRunRepository(session)
        self.bounces = SqlBounceStore(session)
        self.tracking = SqlTrackingStore(session)
        self.api_tokens = SqlApiTokenStore(session)
        self.idempotency = SqlIdempotencyStore(session)
        self.webhooks = SqlWebhookStore(session)
        self.segments = SqlSegmentStore(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            await session.rollback()
        finally:
            await session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


def make_uow_factory(session_factory: async_sessionmaker[AsyncSession]) -> UnitOfWorkFactory:
    def factory() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory)

    return factory
