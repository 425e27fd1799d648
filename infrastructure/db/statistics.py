"""Fresh planner statistics after a big write, without waiting for autovacuum.

A list of 1,000,000 recipients imported into a fresh database left ``addresses`` and
``list_members`` without statistics: the mailing dialog's reachable count took 2.6-3.2 s
instead of 0.35-0.56 s, and with autovacuum off (or until its first pass) nothing ever
refreshed them. So the writer refreshes them itself, once, when it changed more rows than
autovacuum's own threshold would let pass (50 + 10 % of the rows last counted).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

ANALYZE_BASE = 50  # autovacuum_analyze_threshold
ANALYZE_SCALE = 0.1  # autovacuum_analyze_scale_factor
TABLES = frozenset({"addresses", "list_members", "deliveries"})

_RELTUPLES = text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)")


def worth_analyzing(changed: int, counted: float) -> bool:
    """``changed`` rows written into a table whose last count was ``counted`` rows (-1:
    never counted) would make autovacuum analyze it."""
    return changed > ANALYZE_BASE + ANALYZE_SCALE * max(counted, 0.0)


async def refresh(conn: AsyncConnection, table: str, changed: int) -> bool:
    """``ANALYZE table`` on PostgreSQL when ``changed`` rows make it worth it (SQLite plans
    well without statistics); returns whether it ran. ``conn`` commits it."""
    if table not in TABLES:
        raise ValueError(f"no statistics refresh for {table}")
    if conn.dialect.name != "postgresql" or changed <= ANALYZE_BASE:
        return False
    counted = (await conn.execute(_RELTUPLES, {"table": table})).scalar_one()
    if not worth_analyzing(changed, float(counted)):
        return False
    started = time.perf_counter()
    await conn.exec_driver_sql(f"ANALYZE {table}")
    log.info(
        "Refreshed the statistics of %s after %d rows (%.2f s)",
        table,
        changed,
        time.perf_counter() - started,
    )
    return True


async def refresh_after(engine: AsyncEngine, changes: dict[str, int]) -> None:
    """``refresh`` each table of ``changes`` (table: rows written), in one transaction."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.begin() as conn:
        for table, changed in changes.items():
            await refresh(conn, table, changed)
