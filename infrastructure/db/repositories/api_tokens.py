"""API tokens (looked up by the secret's hash) and the idempotency keys of API launches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from domain.api_tokens import ApiToken
from domain.idempotency import IdempotencyRecord
from domain.ports.api import TokenAndRun
from domain.users import User
from infrastructure.db.engine import create_session_factory
from infrastructure.db.models import (
    ApiTokenRow,
    IdempotencyRow,
    MailingRow,
    MailingRunRow,
    UserRow,
)
from infrastructure.db.repositories._sql import execute_dml, upsert_insert
from infrastructure.db.repositories.runs import to_run_seen
from infrastructure.db.repositories.users import to_user


def to_token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        owner_id=row.owner_id,
        name=row.name,
        token_hash=row.token_hash,
        hint=row.hint,
        id=row.id,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _token_with_owner() -> Select[ApiTokenRow, UserRow]:
    """Tokens with their owners (``None`` where the user is gone)."""
    return select(ApiTokenRow, UserRow).outerjoin(
        UserRow, UserRow.telegram_id == ApiTokenRow.owner_id
    )


def _token_and_owner(token: ApiTokenRow, owner: UserRow | None) -> tuple[ApiToken, User | None]:
    return to_token(token), to_user(owner) if owner is not None else None


class SqlTokenRunReader:
    """Implements ``domain.ports.api.TokenRunReader`` on an engine of
    ``engine.create_poll_engine``: one statement, no transaction around it (on
    PostgreSQL), no ping before it; a connection the server dropped meanwhile (a restart)
    fails that statement, which is then read once more on a new connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = create_session_factory(engine)

    async def token_and_run(self, token_hash: str, run_id: int) -> TokenAndRun | None:
        stmt = (
            _token_with_owner()
            .add_columns(MailingRunRow, MailingRow.owner_id, MailingRow.archived_at)
            .outerjoin(MailingRunRow, MailingRunRow.id == run_id)
            .outerjoin(MailingRow, MailingRow.id == MailingRunRow.mailing_id)
            .where(ApiTokenRow.token_hash == token_hash)
        )
        for retry in (True, False):
            try:
                async with self._sessions() as session:
                    found = (await session.execute(stmt)).first()
                break
            except DBAPIError as error:
                if not (retry and error.connection_invalidated):
                    raise
        if found is None:
            return None
        token, owner, run, owner_id, archived_at = found
        seen = None if run is None else to_run_seen(run, owner_id, archived_at)
        return *_token_and_owner(token, owner), seen


class SqlApiTokenStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: ApiToken) -> ApiToken:
        row = ApiTokenRow(
            owner_id=token.owner_id, name=token.name, token_hash=token.token_hash, hint=token.hint
        )
        self._session.add(row)
        await self._session.flush()
        return to_token(row)

    async def with_owner(self, token_hash: str) -> tuple[ApiToken, User | None] | None:
        stmt = (
            _token_with_owner()
            .where(ApiTokenRow.token_hash == token_hash)
            .execution_options(populate_existing=True)
        )
        found = (await self._session.execute(stmt)).first()
        return None if found is None else _token_and_owner(found[0], found[1])

    async def get(self, token_id: int) -> ApiToken | None:
        row = await self._session.get(ApiTokenRow, token_id, populate_existing=True)
        return to_token(row) if row is not None else None

    async def for_owner(self, owner_id: int) -> list[ApiToken]:
        stmt = (
            select(ApiTokenRow)
            .where(ApiTokenRow.owner_id == owner_id)
            .order_by(ApiTokenRow.id.desc())
        )
        return [to_token(row) for row in await self._session.scalars(stmt)]

    async def revoke(self, token_id: int, now: datetime) -> bool:
        stmt = (
            update(ApiTokenRow)
            .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(await execute_dml(self._session, stmt))

    async def touch(self, token_id: int, now: datetime) -> None:
        stmt = (
            update(ApiTokenRow)
            .where(ApiTokenRow.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        await execute_dml(self._session, stmt)


class SqlIdempotencyStore:
    """Idempotency keys of API launches (``domain.ports.api.IdempotencyStore``)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def reserve(
        self, actor_id: int, key: str, request_hash: str
    ) -> IdempotencyRecord | None:
        # ON CONFLICT: a concurrent reservation of the same key waits for ours, then yields.
        stmt = (
            upsert_insert(self._session, IdempotencyRow)
            .values(actor_id=actor_id, key=key, request_hash=request_hash)
            .on_conflict_do_nothing()
        )
        if await execute_dml(self._session, stmt):
            return None
        row = await self._session.get(IdempotencyRow, (actor_id, key), populate_existing=True)
        assert row is not None
        return IdempotencyRecord(
            row.actor_id, row.key, row.request_hash, row.run_id, row.created_at
        )

    async def complete(self, actor_id: int, key: str, run_id: int) -> None:
        stmt = (
            update(IdempotencyRow)
            .where(IdempotencyRow.actor_id == actor_id, IdempotencyRow.key == key)
            .values(run_id=run_id)
            .execution_options(synchronize_session=False)
        )
        await execute_dml(self._session, stmt)

    async def release(self, actor_id: int, key: str) -> None:
        stmt = delete(IdempotencyRow).where(
            IdempotencyRow.actor_id == actor_id, IdempotencyRow.key == key
        )
        await execute_dml(self._session, stmt)
