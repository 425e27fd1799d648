"""Helpers the repositories share: dialect-specific INSERT and pagination."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Executable, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, InvalidInput
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


# Unique names (migration 0010), as PostgreSQL and SQLite name them in their errors (SQLite
# names a plain index by its columns), and the domain error of the use cases' own check.
NAME_CLASHES = {
    "uq_recipient_lists_name": "lists-name-taken",
    "uq_templates_name": "templates-name-taken",
    "uq_mailings_owner_id_name": "mailings-name-taken",
    "mailings.owner_id, mailings.name": "mailings-name-taken",
    "uq_segments_owner_id_name": "segments-name-taken",
    "segments.owner_id": "segments-name-taken",
}


@contextmanager
def unique_name(name: str) -> Iterator[None]:
    """A name taken by a request that won a race (both passed the use case's check): the
    same ``Conflict`` as that check. The transaction is spoilt either way: its unit of
    work rolls back."""
    try:
        yield
    except IntegrityError as exc:
        reason = str(exc.orig)
        for index, key in NAME_CLASHES.items():
            if index in reason:
                raise Conflict(key, name=name) from None
        raise
