"""API tokens (``domain.api_tokens.ApiTokenStore``): looked up by the secret's hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.api_tokens import ApiToken
from infrastructure.db.models import ApiTokenRow
from infrastructure.db.repositories._sql import execute_dml


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

    async def by_hash(self, token_hash: str) -> ApiToken | None:
        stmt = select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash)
        row = (await self._session.scalars(stmt)).first()
        return to_token(row) if row is not None else None

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
