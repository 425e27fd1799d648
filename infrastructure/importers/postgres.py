"""PostgreSQL: each batch is stored while the next one is read, with binary ``COPY``.

One transaction from the list lock to the commit, on one asyncpg connection (checked,
not assumed, to be inside the transaction SQLAlchemy began), so a failure anywhere (a bad
file half-way, the progress callback raising) leaves nothing behind.

Storing a batch costs the backend little beside the parsing of the next one in the worker
thread (``importer.py`` reads ahead): its distinct addresses (``batch.py``: the last record
wins, attributes already JSON) are looked up by their unique key, one index probe each;
the new ones get ids from the sequence and are copied into ``addresses`` and, with the
known non-members, into ``list_members`` (``COPY`` writes a page of rows at a time where
``INSERT … SELECT`` writes one row at a time). Staging the whole file first and sorting
it, as this module did before, kept the backend busy for most of an import after the
file was read (a million rows: 21 of 30 s).

Across batches the rules are those of a whole-file import: an address counts once (the
import's own new ids are known here; known addresses it has met are kept in the temporary
table ``import_seen``, with their attributes from before the import when it changed
them), and the last record of an address wins: its attributes are merged into those the
address had before the import.

Nobody can add members to the list meanwhile (``FOR UPDATE`` on the list row blocks the
``FOR KEY SHARE`` every other writer of members takes first:
``SqlRecipientListRepository.add_members``), but someone may add one of our new
addresses (a /start in the bot) after we looked it up: the ``COPY`` then fails on the
unique key, the transaction is lost, and ``AddressRace`` tells the caller to start the
import again (it then finds that address and merges into it).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncConnection

from infrastructure.importers.batch import Batch
from infrastructure.importers.sql import Counts, lock_list, mark_gone, touch_list

ATTEMPTS = 3  # an import lost to such races is started again, at most this many times in all


class AddressRace(Exception):
    """Another transaction inserted one of the import's new addresses: the import's
    transaction is lost; run it again."""


# One index probe per distinct address of the batch, and one into the list's members and
# into import_seen for each one found (LATERAL … LIMIT 1: never a hash of the whole list).
_LOOKUP = """
    SELECT b.i - 1, a.id,
           (a.unsubscribed_at IS NOT NULL OR a.refused_at IS NOT NULL),
           m.address_id IS NOT NULL, s.id IS NOT NULL,
           a.attributes @> b.attributes::jsonb
    FROM unnest($1::text[], $2::text[], $4::text[])
         WITH ORDINALITY AS b(kind, value, attributes, i)
    CROSS JOIN LATERAL (
        SELECT id, unsubscribed_at, refused_at, attributes FROM addresses
        WHERE kind = b.kind AND value = b.value LIMIT 1
    ) a
    LEFT JOIN LATERAL (
        SELECT address_id FROM list_members WHERE list_id = $3 AND address_id = a.id LIMIT 1
    ) m ON true
    LEFT JOIN LATERAL (SELECT id FROM import_seen WHERE id = a.id LIMIT 1) s ON true
"""
# A batch's statements (and the member counts' trigger, migration 0026) join a few
# thousand rows to tables of millions: by index, never by hashing or sorting a whole
# table per batch (which the planner may pick when it misjudges a table that grows in
# this very transaction). JIT compiling took longer than running each of them.
_SETTINGS = ("jit = off", "enable_hashjoin = off", "enable_mergejoin = off")
_RESERVE = "SELECT array_agg(nextval($1::regclass)) FROM generate_series(1, $2)"
_SEEN = "INSERT INTO import_seen (id) SELECT unnest($1::bigint[])"
# The attributes an address had before the import (none: one of its own new addresses),
# merged with the batch's; the first change keeps them in import_seen for later batches.
_MERGE = """
    WITH b AS (
        SELECT * FROM unnest($1::bigint[], $2::jsonb[], $3::boolean[]) AS b(id, attributes, own)
    ), merged AS (
        SELECT b.id, a.attributes AS now,
               CASE WHEN b.own THEN '{}'::jsonb ELSE coalesce(s.stored, a.attributes) END
               AS before,
               b.attributes
        FROM b JOIN addresses a ON a.id = b.id LEFT JOIN import_seen s ON s.id = b.id
    ), kept AS (
        UPDATE import_seen s SET stored = m.before FROM merged m
        WHERE s.id = m.id AND s.stored IS NULL AND m.now <> m.before || m.attributes
    )
    UPDATE addresses a SET attributes = m.before || m.attributes FROM merged m
    WHERE a.id = m.id AND a.attributes <> m.before || m.attributes
"""


@dataclass(slots=True)
class _Tally:
    """What the batches found so far, and the ids of the addresses the import made."""

    unique: int = 0
    suppressed: int = 0
    already_there: int = 0
    own_starts: list[int] = field(default_factory=list)  # ranges of new ids, sorted
    own_ends: list[int] = field(default_factory=list)

    def own(self, address_id: int) -> bool:
        at = bisect_right(self.own_starts, address_id) - 1
        return at >= 0 and address_id <= self.own_ends[at]

    def add_own(self, ids: Sequence[int]) -> None:
        for address_id in sorted(ids):
            if self.own_ends and address_id == self.own_ends[-1] + 1:
                self.own_ends[-1] = address_id
            elif self.own_starts and address_id < self.own_starts[-1]:
                self._insert(address_id)
            else:
                self.own_starts.append(address_id)
                self.own_ends.append(address_id)

    def _insert(self, address_id: int) -> None:  # a sequence shared with other writers
        at = bisect_right(self.own_starts, address_id)
        self.own_starts.insert(at, address_id)
        self.own_ends.insert(at, address_id)


async def store_postgres(
    conn: AsyncConnection,
    list_id: int,
    keys: Sequence[str],
    batches: AsyncIterator[Batch],
    *,
    sync: bool = False,
) -> Counts:
    """Store batch by batch (``batch.unique_batch`` of each); the caller owns the
    transaction and commits it. ``keys``: the attributes' (unused: the batches carry them
    as JSON). ``sync``:
    mark the members the file does not hold as gone (``sql.mark_gone``)."""
    await lock_list(conn, list_id, for_update=True)
    for setting in _SETTINGS:
        await conn.exec_driver_sql(f"SET LOCAL {setting}")
    await conn.exec_driver_sql(
        "CREATE TEMP TABLE import_seen (id bigint PRIMARY KEY, stored jsonb) ON COMMIT DROP"
    )
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if not driver.is_in_transaction():
        raise RuntimeError("COPY must run inside the import's transaction")
    sequence = await driver.fetchval("SELECT pg_get_serial_sequence('addresses', 'id')")
    tally = _Tally()
    async for batch in batches:
        await _store_batch(driver, list_id, batch, tally, sequence, sync=sync)
    for setting in _SETTINGS[1:]:  # the list's members are joined to import_seen next
        await conn.exec_driver_sql(f"RESET {setting.partition(' ')[0]}")
    if sync:
        await conn.exec_driver_sql("ANALYZE import_seen")
    gone = await mark_gone(conn, list_id, "import_seen", sync=sync)
    await touch_list(conn, list_id)
    return Counts(
        unique=tally.unique,
        suppressed=tally.suppressed,
        already_there=tally.already_there,
        gone=gone,
    )


async def _store_batch(
    driver: Any, list_id: int, batch: Batch, tally: _Tally, sequence: str, *, sync: bool
) -> None:
    found = await driver.fetch(_LOOKUP, batch.kinds, batch.values, list_id, batch.attributes)
    known = [False] * len(batch)
    seen: list[int] = []  # known addresses met for the first time
    merge_ids: list[int] = []
    merge_own: list[bool] = []
    merge_attributes: list[str] = []
    joining: list[int] = []  # known addresses that become members
    unique = suppressed = already_there = 0
    for index, address_id, is_suppressed, member, met, has_them in found:
        known[index] = True
        own = tally.own(address_id)
        if not own and not met:
            seen.append(address_id)
            unique += 1
            if is_suppressed:
                suppressed += 1
            elif member:
                already_there += 1
            if not member:
                joining.append(address_id)
        if own or met or not has_them:  # (the first record of a known one: merged)
            merge_ids.append(address_id)
            merge_own.append(own)
            merge_attributes.append(batch.attributes[index])
    ids: list[int] = []
    if len(found) < len(batch):
        new = [index for index, is_known in enumerate(known) if not is_known]
        ids = await driver.fetchval(_RESERVE, sequence, len(new))
        rows = zip(
            ids,
            [batch.kinds[i] for i in new],
            [batch.values[i] for i in new],
            [batch.attributes[i] for i in new],
            strict=True,
        )
        try:
            await driver.copy_records_to_table(
                "addresses", records=rows, columns=["id", "kind", "value", "attributes"]
            )
        except asyncpg.UniqueViolationError as error:
            raise AddressRace from error
    if sync:
        seen.extend(ids)
    if seen:
        await driver.execute(_SEEN, seen)
    if merge_ids:
        await driver.execute(_MERGE, merge_ids, merge_attributes, merge_own)
    if ids or joining:
        await driver.copy_records_to_table(
            "list_members",
            records=zip(repeat(list_id), chain(ids, joining)),
            columns=["list_id", "address_id"],
        )
    tally.add_own(ids)
    tally.unique += unique + len(ids)
    tally.suppressed += suppressed
    tally.already_there += already_there
