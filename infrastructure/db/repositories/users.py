"""Users keyed by Telegram id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.pagination import Page
from domain.users import Role, User
from infrastructure.db.models import UserRow
from infrastructure.db.repositories._sql import execute_dml, fetch_page, upsert_insert


def to_user(row: UserRow) -> User:
    return User(
        telegram_id=row.telegram_id,
        username=row.username,
        full_name=row.full_name,
        language=row.language,
        role=Role(row.role) if row.role is not None else None,
        is_active=row.is_active,
        granted_by=row.granted_by,
        granted_at=row.granted_at,
        created_at=row.created_at,
    )


def _columns(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "language": user.language,
        "role": user.role.value if user.role is not None else None,
        "is_active": user.is_active,
        "granted_by": user.granted_by,
        "granted_at": user.granted_at,
    }


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, telegram_id: int) -> User | None:
        row = await self._session.get(UserRow, telegram_id, populate_existing=True)
        return to_user(row) if row is not None else None

    async def get_by_username(self, username: str) -> User | None:
        wanted = username.removeprefix("@").lower()
        # A username can move to another account; the latest profile seen wins.
        stmt = (
            select(UserRow)
            .where(func.lower(UserRow.username) == wanted)
            .order_by(UserRow.updated_at.desc())
            .limit(1)
        )
        row = (await self._session.scalars(stmt)).first()
        return to_user(row) if row is not None else None

    async def add(self, user: User) -> None:
        row = UserRow(telegram_id=user.telegram_id, **_columns(user))
        self._session.add(row)
        await self._session.flush()
        user.created_at = row.created_at

    async def add_or_get(self, user: User) -> User:
        stmt = (
            upsert_insert(self._session, UserRow)
            .values(telegram_id=user.telegram_id, **_columns(user))
            .on_conflict_do_nothing(index_elements=[UserRow.telegram_id])
        )
        await self._session.execute(stmt)
        stored = await self.get(user.telegram_id)
        if stored is None:  # pragma: no cover - inserted or found just above
            raise NotFound("error-unknown-user", user_id=user.telegram_id)
        return stored

    async def update(self, user: User) -> None:
        stmt = (
            update(UserRow)
            .where(UserRow.telegram_id == user.telegram_id)
            .values(**_columns(user))
            .execution_options(synchronize_session=False)
        )
        if not await execute_dml(self._session, stmt):
            raise NotFound("error-unknown-user", user_id=user.telegram_id)

    async def count_active(self, role: Role) -> int:
        stmt = select(func.count()).where(UserRow.role == role.value, UserRow.is_active)
        return (await self._session.execute(stmt)).scalar_one()

    async def lock_admins(self) -> None:
        # FOR UPDATE on the active admins' rows: a second role change waits here, and
        # PostgreSQL re-checks the WHERE on rows changed meanwhile, so its count is current.
        # SQLite has one writer; SQLAlchemy leaves FOR UPDATE out there.
        stmt = (
            select(UserRow.telegram_id)
            .where(UserRow.role == Role.admin.value, UserRow.is_active)
            .order_by(UserRow.telegram_id)  # one lock order for everyone: no deadlock
            .with_for_update()
        )
        await self._session.execute(stmt)

    async def list_staff(self, page: int, size: int) -> Page[User]:
        admins_first = case((UserRow.role == Role.admin.value, 0), else_=1)
        stmt = (
            select(UserRow)
            .where(UserRow.role.is_not(None))
            .order_by(admins_first, UserRow.telegram_id)
        )
        return await fetch_page(self._session, stmt, page, size, to_user)
