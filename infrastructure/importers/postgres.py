"""PostgreSQL: rows stream into a temporary table with binary ``COPY``, then set-based SQL.

One transaction from the list lock to the commit: the ``COPY`` runs on the same asyncpg
connection, inside the transaction SQLAlchemy began (checked, not assumed), so a failure
anywhere (a bad file half-way, the progress callback raising) leaves nothing behind.

The statements avoid ``ON CONFLICT`` where they can: on a million rows its speculative
insertion doubles the cost of an INSERT. Each address is looked up once; new ones are
inserted plainly and become members in the same statement. Nobody can add members to
the list meanwhile (``FOR UPDATE`` on the list row blocks the ``FOR KEY SHARE`` every
other writer of members takes first: ``SqlRecipientListRepository.add_members``), but
someone may add one of our new addresses (a /start in the bot): that rare race falls back
to ``ON CONFLICT`` under a savepoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
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

# Sorting a million rows for DISTINCT ON in memory rather than in temporary files.
WORK_MEM = "256MB"
# ANALYZE samples 300 rows per unit of this: the staging tables need no more (default 100).
STATISTICS_TARGET = 10


def _attributes_sql(keys: Sequence[str]) -> str:
    built = json_object(
        keys,
        build=lambda pairs: f"jsonb_build_object({pairs})",
        merge=lambda left, right: f"({left} || {right})",
        trim="btrim",
    )
    return f"jsonb_strip_nulls({built})"


async def store_postgres(
    conn: AsyncConnection,
    list_id: int,
    keys: Sequence[str],
    batches: AsyncIterator[list[Record]],
    *,
    sync: bool = False,
) -> Counts:
    """Stage and store; the caller owns the transaction and commits it. ``sync``: mark the
    members the file does not hold as gone (``sql.mark_gone``)."""
    await lock_list(conn, list_id, for_update=True)
    columns = ["line", "kind", "value", *attribute_columns(len(keys))]
    typed = ", ".join(f"{c} {'integer' if c == 'line' else 'text'}" for c in columns)
    await conn.exec_driver_sql(f"CREATE TEMP TABLE import_batch ({typed}) ON COMMIT DROP")
    await conn.exec_driver_sql(
        "CREATE TEMP TABLE import_rows (line integer, kind text, value text, attributes jsonb)"
        " ON COMMIT DROP"
    )
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if not driver.is_in_transaction():
        raise RuntimeError("COPY must run inside the import's transaction")
    stage = _stage_sql(keys)
    async for batch in batches:  # a COPY per batch: asyncpg reads a list at C speed
        await driver.copy_records_to_table("import_batch", records=batch, columns=columns)
        await driver.execute(stage)
    # A temporary table has no statistics; the planner needs the rows' count and how many
    # distinct addresses they hold. A sample of 3,000 rows tells that as well as the
    # default 30,000 (the values are nearly all distinct): 0.01 s of the server's CPU
    # instead of 0.12 s here and 0.10 s for import_unique below, on a million rows (load 11).
    await conn.exec_driver_sql(f"SET LOCAL default_statistics_target = {STATISTICS_TARGET}")
    await conn.exec_driver_sql("ANALYZE import_rows (kind, value)")
    await conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
    await conn.exec_driver_sql(_lookup_sql(list_id))
    # Without statistics the planner takes import_unique for 200 distinct ids, and
    # mark_gone probed list_members once per staged address to clear gone marks nobody
    # had: a re-import of 1,000,000 members 13.3 s (one scan of the list's members after
    # this: 0.11 s), a push of 10,000 through the API 184 ms (80 ms). The ids' statistics
    # cost 0.3 s and 4 ms there (load 10-13).
    await conn.exec_driver_sql("ANALYZE import_unique (id)")
    gone = await mark_gone(conn, list_id, "import_unique", sync=sync)  # before new members
    await conn.exec_driver_sql("""
        UPDATE addresses a SET attributes = a.attributes || u.attributes
        FROM import_unique u
        WHERE u.id IS NOT NULL AND a.id = u.id AND NOT u.stored @> u.attributes
    """)
    await conn.exec_driver_sql(f"SET LOCAL {COUNTED_BY_US} = 'on'")
    await conn.exec_driver_sql(f"""
        INSERT INTO list_members (list_id, address_id)
        SELECT {list_id:d}, id FROM import_unique WHERE id IS NOT NULL AND NOT member
    """)  # noqa: S608 (an integer)
    try:
        async with conn.begin_nested():
            await conn.exec_driver_sql(_add_new_sql(list_id))
    except IntegrityError:
        await conn.exec_driver_sql(_add_new_racing_sql(list_id))
    counts = await conn.exec_driver_sql(_count_sql(list_id))
    await conn.exec_driver_sql(f"SET LOCAL {COUNTED_BY_US} = 'off'")
    unique, suppressed, already = (int(count) for count in counts.one())
    await touch_list(conn, list_id)
    return Counts(unique=unique, suppressed=suppressed, already_there=already, gone=gone)


def _stage_sql(keys: Sequence[str]) -> str:
    """A batch's records into import_rows, with their attributes as JSON.

    Built here, a batch at a time, while the worker thread reads the next batch of the
    file, rather than in the lookup after the last one: on a million rows the attributes
    cost about 0.9 s of the server's CPU, which the lookup made everyone wait for, and
    which here falls in the time the server waited for the file anyway. Emptied with
    TRUNCATE (a table made in this transaction is emptied in place), or the next batch's
    INSERT would read every batch before it again.
    """
    return f"""
        INSERT INTO import_rows SELECT line, kind, value, {_attributes_sql(keys)}
        FROM import_batch;
        TRUNCATE import_batch
    """  # noqa: S608 (sql.py explains)


# While it is on, list_members' count trigger leaves the statements to us (migration
# 0027): it would join every new member to addresses again to learn its kind, which
# import_unique holds. Every member we add is an address of import_unique that was not a
# member (found or inserted in this transaction: never a member of no address), and
# nobody else adds members to the list meanwhile (the lock).
COUNTED_BY_US = "mailforge.members_counted"


def _count_sql(list_id: int) -> str:
    """The members added, into list_counts, and the report's counts: one pass over
    import_unique for both (two took 0.22 s of the server's CPU on a million rows, load 10)."""
    return f"""
        WITH per_kind AS (
            SELECT kind, count(*) AS found,
                   count(*) FILTER (WHERE suppressed) AS suppressed,
                   count(*) FILTER (WHERE member AND NOT suppressed) AS already,
                   count(*) FILTER (WHERE NOT member) AS added
            FROM import_unique GROUP BY kind
        ), counted AS (
            INSERT INTO list_counts (list_id, kind, members)
            SELECT {list_id:d}, kind, added FROM per_kind WHERE added > 0 ORDER BY kind
            ON CONFLICT (list_id, kind)
            DO UPDATE SET members = list_counts.members + EXCLUDED.members
        )
        SELECT coalesce(sum(found), 0), coalesce(sum(suppressed), 0), coalesce(sum(already), 0)
        FROM per_kind
    """  # noqa: S608 (an integer)


def _lookup_sql(list_id: int) -> str:
    """One row per (kind, value), the last in the file winning, with what is known of it.

    Byte order ("C") sorts faster than a linguistic collation and means the same for
    telling values apart (``IN_BYTE_ORDER``).
    """
    return f"""
        CREATE TEMP TABLE import_unique ON COMMIT DROP AS
        SELECT u.kind, u.value, u.attributes,
               a.id, a.attributes AS stored,
               (a.unsubscribed_at IS NOT NULL OR a.refused_at IS NOT NULL) AS suppressed,
               (m.address_id IS NOT NULL) AS member
        FROM (
            SELECT DISTINCT ON ({IN_BYTE_ORDER}) kind, value, attributes
            FROM import_rows ORDER BY {IN_BYTE_ORDER}, line DESC
        ) u
        LEFT JOIN addresses a ON a.kind = u.kind AND a.value = u.value
        LEFT JOIN list_members m ON m.list_id = {list_id:d} AND m.address_id = a.id
    """  # noqa: S608 (an integer)


# Sorting by value and kind: both in byte order ("C"). A column left in the database's
# collation is compared with strcoll and without abbreviated keys, even when its values
# are all equal (kind): sorting a million staged rows took 11.5 s with kind so, against
# about 1 s with both in "C". Value first: kind is nearly always the same, and a first key
# that never differs costs two comparisons of every pair (its abbreviation, then itself)
# before value decides: the dedupe of 995,000 staged rows took 1.64 s of the server's CPU
# by kind first, 0.55 s by value first (load 7).
IN_BYTE_ORDER = 'value COLLATE "C", kind COLLATE "C"'
# New addresses go in in the order of their unique index (kind, value): each insertion then
# lands on the index's rightmost pages, already in memory, instead of anywhere in it (a
# million rows into a fresh database: 9 s instead of 15 s for the INSERT alone). Sorted by
# value first, as import_unique already is (so the sort finds its input in order): the
# same order for one kind, and two points of insertion, both in memory, for two. A
# database collated C.UTF-8 orders text by code point, as "C" does; under another
# collation the order is close to the index's, which is still most of the gain.
NEW_IN_INDEX_ORDER = f"ORDER BY {IN_BYTE_ORDER}"


def _add_new_sql(list_id: int) -> str:
    # list_members' counts trigger checks, at the end of the statement, that every new
    # member has an address: those inserted by the WITH part exist by then.
    return f"""
        WITH new AS (
            INSERT INTO addresses (kind, value, attributes)
            SELECT kind, value, attributes FROM import_unique WHERE id IS NULL
            {NEW_IN_INDEX_ORDER}
            RETURNING id
        )
        INSERT INTO list_members (list_id, address_id) SELECT {list_id:d}, id FROM new
    """  # noqa: S608 (an integer)


def _add_new_racing_sql(list_id: int) -> str:
    return f"""
        WITH new AS (
            INSERT INTO addresses (kind, value, attributes)
            SELECT kind, value, attributes FROM import_unique WHERE id IS NULL
            {NEW_IN_INDEX_ORDER}
            ON CONFLICT (kind, value) DO UPDATE
            SET attributes = addresses.attributes || EXCLUDED.attributes
            RETURNING id
        )
        INSERT INTO list_members (list_id, address_id) SELECT {list_id:d}, id FROM new
        ON CONFLICT DO NOTHING
    """  # noqa: S608 (an integer)
