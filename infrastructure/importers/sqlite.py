"""SQLite: rows go into a temporary table with ``executemany``, then set-based SQL.

The embedded database is shared by the bot and the in-process workers, and a write
transaction locks the whole file. So the rows are staged first, in a transaction of the
connection's private ``temp`` schema that locks nothing else, and only the set-based part
runs in the write transaction (``BEGIN IMMEDIATE``): the shared file is locked for the
seconds that part takes, not for the whole parse. All writes to shared tables still happen
in that one transaction; the staging tables are dropped whatever the outcome.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from infrastructure.importers.rows import Record
from infrastructure.importers.sql import (
    Counts,
    attribute_columns,
    json_object,
    lock_list,
    mark_gone,
    touch_list,
)

_TABLES = ("import_rows", "import_unique", "import_ids")


def _attributes_sql(keys: Sequence[str]) -> str:
    # json_patch drops the members of its patch whose value is NULL: empty cells vanish.
    return json_object(
        keys,
        build=lambda pairs: f"json_patch('{{}}', json_object({pairs}))",
        merge=lambda left, right: f"json_patch({left}, {right})",
    )


async def store_sqlite(
    conn: AsyncConnection,
    list_id: int,
    keys: Sequence[str],
    batches: AsyncIterator[list[Record]],
    *,
    sync: bool = False,
) -> Counts:
    """Stage, then store in a transaction of its own that is committed on success.
    ``sync``: mark the members the file does not hold as gone (``sql.mark_gone``)."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    columns = ["line", "kind", "value", *attribute_columns(len(keys))]
    try:
        await _drop_staging(driver)
        await lock_list(conn, list_id, for_update=False)  # fail fast, before reading
        await conn.commit()
        await driver.execute(f"CREATE TEMP TABLE import_rows ({', '.join(columns)})")
        marks = ", ".join("?" * len(columns))
        insert = f"INSERT INTO temp.import_rows VALUES ({marks})"  # noqa: S608
        await driver.execute("BEGIN")
        async for batch in batches:
            await driver.executemany(insert, batch)
        await driver.execute("COMMIT")
        async with conn.begin():
            counts = await _apply(conn, list_id, keys, sync)
    finally:
        if driver.in_transaction:
            await driver.execute("ROLLBACK")
        await _drop_staging(driver)
    return counts


async def _apply(conn: AsyncConnection, list_id: int, keys: Sequence[str], sync: bool) -> Counts:
    await lock_list(conn, list_id, for_update=False)
    attrs = "".join(f", {column}" for column in attribute_columns(len(keys)))
    # SQLite's bare columns beside max(): their values come from the row with max(line).
    await conn.exec_driver_sql(f"""
        CREATE TEMP TABLE import_unique AS
        SELECT kind, value, {_attributes_sql(keys)} AS attributes
        FROM (SELECT kind, value{attrs}, max(line) FROM import_rows GROUP BY kind, value)
    """)  # noqa: S608 (sql.py explains)
    # The WHERE keeps SQLite from parsing ON CONFLICT as a join constraint.
    await conn.exec_driver_sql("""
        INSERT INTO addresses (kind, value, attributes)
        SELECT kind, value, attributes FROM import_unique WHERE true
        ON CONFLICT (kind, value) DO UPDATE
        SET attributes = json_patch(addresses.attributes, excluded.attributes)
        WHERE excluded.attributes <> '{}'
    """)
    await conn.exec_driver_sql(f"""
        CREATE TEMP TABLE import_ids AS
        SELECT a.id AS id,
               (a.unsubscribed_at IS NOT NULL OR a.refused_at IS NOT NULL) AS suppressed,
               (m.address_id IS NOT NULL) AS member
        FROM import_unique u
        JOIN addresses a ON a.kind = u.kind AND a.value = u.value
        LEFT JOIN list_members m ON m.list_id = {list_id:d} AND m.address_id = a.id
    """)  # noqa: S608 (an integer)
    counts = await conn.exec_driver_sql("""
        SELECT count(*), coalesce(sum(suppressed), 0),
               coalesce(sum(member AND NOT suppressed), 0)
        FROM import_ids
    """)
    unique, suppressed, already = tuple(counts.one())
    gone = await mark_gone(conn, list_id, "import_ids", sync=sync)  # before new members
    await conn.exec_driver_sql(f"""
        INSERT INTO list_members (list_id, address_id)
        SELECT {list_id:d}, id FROM import_ids WHERE NOT member
    """)  # noqa: S608 (an integer)
    await touch_list(conn, list_id)
    return Counts(unique=unique, suppressed=suppressed, already_there=already, gone=gone)


async def _drop_staging(driver: Any) -> None:
    for table in _TABLES:
        await driver.execute(f"DROP TABLE IF EXISTS temp.{table}")
