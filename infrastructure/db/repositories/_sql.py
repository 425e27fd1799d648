"""Helpers the repositories share: dialect-specific INSERT and pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Executable, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput
from domain.pagination import Page
from infrastructure.db.base import Base

R = TypeVar("R")
T = TypeVar("T")

UpsertInsert = postgresql.Insert | sqlite.Insert


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def upsert_insert(session: AsyncSession, table: Table | type[Base]) -> UpsertInsert:
    """An INSERT that knows ``ON CONFLICT`` on both supported backends."""
    name = dialect_name(session)
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"ON CONFLICT is not wired for {name}")


async def fetch_page(
    session: AsyncSession,
    stmt: Select[R],
    page: int,
    size: int,
    convert: Callable[[R], T],
) -> Page[T]:
    """One page of an ORDER BY'ed query, 0-based, with the total row count."""
    if size < 1 or page < 0:
        raise InvalidInput("error-bad-page", page=page, size=size)
    counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = (await session.execute(counted)).scalar_one()
    rows = await session.scalars(stmt.limit(size).offset(page * size))
    return Page(items=[convert(row) for row in rows], total=total, page=page, size=size)


async def execute_dml(session: AsyncSession, stmt: Executable) -> int:
    """Run an INSERT/UPDATE/DELETE and return how many rows it touched."""
    result = await session.execute(stmt)
    return cast(CursorResult[Any], result).rowcount
