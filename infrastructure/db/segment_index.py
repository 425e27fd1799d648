"""``SqlFieldIndexes``: PostgreSQL expression indexes on the fields saved segments use.

A saved segment is a segment used again and again, so its equality fields ("city",
"plan") get an index on the very expression ``segments.py`` compares,
``lower(attributes ->> 'city')``: a segment count on a big list then reads the matching
addresses only (bench/segments.py). Built ``CONCURRENTLY`` (imports and sends go on), once
per field (a stable name from the field's digest); a failed build leaves an invalid index,
which is dropped so that the next save tries again. SQLite gets none: an embedded
install's lists are small, and its fold is a Python function.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


def index_name(field: str) -> str:
    return "ix_addresses_attr_" + hashlib.sha256(field.encode()).hexdigest()[:16]


class SqlFieldIndexes:
    """Implements ``domain.ports.segments.FieldIndexes``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ensure(self, fields: Collection[str]) -> None:
        if self._engine.dialect.name != "postgresql":
            return
        for field in sorted(fields):
            name = index_name(field)
            ddl = (
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name}"
                f" ON addresses (lower(attributes ->> {_quoted(field)}))"
            )
            try:
                await self._run(ddl)
            except SQLAlchemyError:
                log.warning("Could not index the field %r; segments work without", field)
                await self._run(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")

    async def _run(self, ddl: str) -> None:
        # CONCURRENTLY refuses to run inside a transaction block.
        async with self._engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql(ddl)


def _quoted(text: str) -> str:
    """A PostgreSQL string constant (``standard_conforming_strings``, on by default)."""
    return "'" + text.replace("'", "''") + "'"
