"""Declarative base and the column types shared by every table."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can refer to (and drop) them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zones: values are stored as naive UTC text and made aware on
    the way back. Naive datetimes are refused on write, because their zone is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite autoincrements only an INTEGER PRIMARY KEY (the rowid alias), never a BIGINT one.
BigIntPK = BigInteger().with_variant(Integer, "sqlite")

# ``none_as_null``: a Python None becomes SQL NULL, not the JSON text 'null'.
JsonDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_serializer(value: Any) -> str:
    """Keep non-ASCII text readable in the database instead of ``\\uXXXX`` escapes."""
    return json.dumps(value, ensure_ascii=False)


# -- column factories shared by the tables ---------------------------------------------


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """A named CHECK that keeps a string column within a closed set of values."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def created_column() -> MappedColumn[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


def updated_column() -> MappedColumn[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now())


def json_column() -> MappedColumn[dict[str, Any]]:
    return mapped_column(JsonDocument, default=dict, server_default=text("'{}'"))


def counter_column() -> MappedColumn[int]:
    return mapped_column(Integer, default=0, server_default="0")
