"""The statements of ``SqlDeliveryQueue``, one set per backend.

Bulk parameters travel as arrays (PostgreSQL: ``unnest`` of typed arrays) or as one JSON
document (SQLite: ``json_each``), never as one placeholder per row: the SQL text stays the
same whatever the batch size, so prepared statements are reused and no driver's limit on
placeholders is ever reached.

Runs marked for a mass send (``mailing_runs.bulk_state``, see ``mass_send_queue.py``) are
never claimed nor requeued here: their rows belong to the worker holding the mass send.

Locks are always taken in the same order, so two transactions never wait on each other in
a circle: delivery rows (by id), then addresses (by id), then runs (by id). Claims and
requeues skip delivery rows another transaction holds (``SKIP LOCKED``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnClause,
    Executable,
    Insert,
    Table,
    TextClause,
    bindparam,
    cast,
    column,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

from domain.ab_test import Split
from infrastructure.db.ab_split import placed
from infrastructure.db.base import JsonDocument, UTCDateTime
from infrastructure.db.models import AddressRow, DeliveryRow, ListMemberRow


def _now(clause: TextClause, *names: str) -> TextClause:
    return clause.bindparams(*(bindparam(name, type_=UTCDateTime()) for name in names))


_SNAPSHOT_SELECT = """
SELECT DISTINCT CAST(:run_id AS BIGINT), m.address_id, 'pending', 0
FROM list_members AS m JOIN addresses AS a ON a.id = m.address_id
WHERE m.list_id IN :list_ids AND a.kind IN :kinds
  AND a.unsubscribed_at IS NULL AND a.refused_at IS NULL
ORDER BY m.address_id
"""

_SNAPSHOT_LISTS: tuple[BindParameter[Any], ...] = (
    bindparam("list_ids", expanding=True),
    bindparam("kinds", expanding=True),
)

# A run's first snapshot (the usual case) inserts without ON CONFLICT: PostgreSQL's
# speculative insertion costs an extra index probe and WAL record per row, 3.3 of 16.8 s
# for 1M recipients. DISTINCT already keeps one row per address, and the unique index
# still stands guard. Later snapshots of the same run add only addresses not there yet.
SNAPSHOT_FIRST = text(
    "INSERT INTO deliveries (run_id, address_id, status, attempts)" + _SNAPSHOT_SELECT
).bindparams(*_SNAPSHOT_LISTS)

SNAPSHOT_MORE = text(
    "INSERT INTO deliveries (run_id, address_id, status, attempts)"
    + _SNAPSHOT_SELECT
    + "ON CONFLICT (run_id, address_id) DO NOTHING"
).bindparams(*_SNAPSHOT_LISTS)


def targeted_snapshot(
    dialect: str,
    selected: ColumnElement[bool] | None,
    due: ColumnElement[Any] | None = None,
    split: Split | None = None,
) -> tuple[Insert, Insert]:
    """``SNAPSHOT_FIRST`` and ``SNAPSHOT_MORE`` with a targeting's condition over
    ``addresses`` (``segments.py``), each row's release instant (``due``, local time) and
    its A/B test variant (``split``, ``ab_split.py``): the same one statement, the same
    parameters."""
    members, addresses = ListMemberRow.__table__, AddressRow.__table__
    deliveries = DeliveryRow.__table__
    assert isinstance(deliveries, Table)
    extra: dict[str, ColumnElement[Any]] = {}
    if split is not None:
        extra["variant"], extra["next_attempt_at"] = placed(
            dialect, split, members.c.address_id, due
        )
    elif due is not None:
        extra["next_attempt_at"] = due
    chosen = (
        select(
            cast(bindparam("run_id"), BigInteger),
            members.c.address_id,
            literal_column("'pending'"),
            literal_column("0"),
            *extra.values(),
        )
        .distinct()
        .select_from(members.join(addresses, addresses.c.id == members.c.address_id))
        .where(
            members.c.list_id.in_(bindparam("list_ids", expanding=True)),
            addresses.c.kind.in_(bindparam("kinds", expanding=True)),
            addresses.c.unsubscribed_at.is_(None),
            addresses.c.refused_at.is_(None),
            *([selected] if selected is not None else []),
        )
        .order_by(members.c.address_id)
    )
    columns = ["run_id", "address_id", "status", "attempts", *extra]
    first = insert(deliveries).from_select(columns, chosen)
    build = pg_insert if dialect == "postgresql" else sqlite_insert
    more = build(deliveries).from_select(columns, chosen).on_conflict_do_nothing()
    return first, more


RUN_HAS_DELIVERIES = text("SELECT EXISTS (SELECT 1 FROM deliveries WHERE run_id = :run_id)")

SNAPSHOT_ONE = text(
    "INSERT INTO deliveries (run_id, address_id, status, attempts)"
    " VALUES (:run_id, :address_id, 'pending', 0)"
    " ON CONFLICT (run_id, address_id) DO NOTHING"
)

_ADDRESS_COLUMNS: tuple[ColumnClause[Any], ...] = (
    column("kind"),
    column("value"),
    column("attributes", JsonDocument),
)


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the backends; ``:ids``/``:rows`` parameters are bulk values."""

    claim: Executable  # -> id, run_id, address_id, attempts (after the increment), variant
    claimed_addresses: Executable | None  # -> address id, kind, value, attributes
    lock_sending: TextClause  # -> id, run_id, address_id, attempts, status of the rows
    # rows: (id, status, last_error, provider id, next attempt at, attempts given back,
    # answer lost), locked
    complete: TextClause
    suppress: TextClause  # ids: address ids
    expired: TextClause  # -> id, run_id, attempts of lost rows (:cutoff, :dead_before)
    # rows: (id, status, last_error or NULL to keep it), locked; each is marked answer_lost
    # (its worker died while sending: the message may have gone out)
    requeue: TextClause
    move_totals: TextClause  # rows: (run id, pending, sending, delivered, failed, refused)
    add_minutes: TextClause  # minute; rows: (run id, delivered, failed, refused)


# -- PostgreSQL -----------------------------------------------------------------------
# No statement that writes rows by id also filters them by status: the rows are locked
# (and their status checked) first, in the same statement or transaction, and a status
# condition let the planner walk ix_deliveries_run_id_status_id by status alone, every
# pending row once per claimed row, when it estimated the tables empty (bench/plans.py).
# The requeue's lookup joins the running and paused runs so that it probes
# ix_deliveries_run_id_status_id once per run (under a millisecond) instead of scanning the
# whole table for rows in ``sending``. A row is lost when its lease ran out, or when its
# worker's heartbeat did: the worker's row is older than :dead_before, or gone (a row
# claimed by no registered worker, ``claimed_by`` NULL, waits for its lease).
# The claim walks ix_deliveries_run_id_status_id once per running run (oldest run first)
# in id order and stops after ``limit`` rows: it never reads the delivered rows before
# the pending ones, nor every pending row of a big run to sort them. Empty attributes (most
# addresses) come back as NULL: decoding '{}' in Python cost a few µs per claimed row.
# A batch's rows are looked up by primary key whatever the table's size: joined to a
# batch of 150-1,000 ids, a table of a few thousand rows (a new install) looked cheaper to
# read whole than to probe, so each record read every delivery row (and each claim every
# address) again. ``id = ANY(ARRAY(SELECT …))`` is estimated at a few rows, so it is
# always an index scan; the join to the batch's values then runs on those rows only.

_PG_CLAIM = """
WITH picked AS (
  SELECT p.id
  FROM (SELECT id FROM mailing_runs WHERE status = 'running' AND bulk_state IS NULL
        ORDER BY id) AS r
  CROSS JOIN LATERAL (
    SELECT d.id FROM deliveries AS d
    WHERE d.run_id = r.id AND d.status = 'pending'
      AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= :now)
    ORDER BY d.id LIMIT :limit
    FOR UPDATE SKIP LOCKED
  ) AS p
  LIMIT :limit
), claimed AS (
  UPDATE deliveries AS d
  SET status = 'sending', claimed_at = :now, claimed_by = CAST(:worker AS BIGINT),
      attempts = d.attempts + 1, updated_at = :now
  FROM picked WHERE d.id = picked.id
  RETURNING d.id, d.run_id, d.address_id, d.attempts, d.variant
)
SELECT c.id, c.run_id, c.address_id, c.attempts, c.variant, a.kind, a.value,
       NULLIF(a.attributes, '{}'::jsonb) AS attributes
FROM claimed AS c JOIN addresses AS a ON a.id = c.address_id
WHERE a.id = ANY(ARRAY(SELECT address_id FROM claimed))
"""

_PG_LOCK_SENDING = """
SELECT id, run_id, address_id, attempts, status FROM deliveries
WHERE id = ANY(ARRAY(SELECT unnest(CAST(:ids AS BIGINT[]))))
ORDER BY id FOR UPDATE
"""

_PG_COMPLETE = """
WITH v AS (
  SELECT * FROM unnest(CAST(:ids AS BIGINT[]), CAST(:statuses AS TEXT[]),
                       CAST(:errors AS TEXT[]), CAST(:providers AS TEXT[]),
                       CAST(:next_ats AS TIMESTAMPTZ[]), CAST(:given_backs AS INTEGER[]),
                       CAST(:losts AS BOOLEAN[]))
    AS v(id, status, last_error, provider_id, next_at, given_back, lost)
)
UPDATE deliveries AS d
SET status = v.status, last_error = v.last_error, provider_message_id = v.provider_id,
    next_attempt_at = v.next_at, attempts = d.attempts - v.given_back, updated_at = :now,
    answer_lost = d.answer_lost OR v.lost
FROM v WHERE d.id = v.id AND d.id = ANY(ARRAY(SELECT id FROM v))
"""

_PG_SUPPRESS = """
UPDATE addresses SET refused_at = :now
WHERE id IN (SELECT id FROM addresses WHERE id = ANY(CAST(:ids AS BIGINT[]))
             AND refused_at IS NULL ORDER BY id FOR UPDATE)
"""

_PG_EXPIRED = """
SELECT d.id, d.run_id, d.attempts FROM mailing_runs AS r JOIN deliveries AS d ON d.run_id = r.id
WHERE r.status IN ('running', 'paused') AND r.bulk_state IS NULL AND d.status = 'sending'
  AND (d.claimed_at < :cutoff OR d.claimed_by IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM workers AS w WHERE w.id = d.claimed_by AND w.beat_at >= :dead_before))
ORDER BY d.id FOR UPDATE OF d SKIP LOCKED
"""

_PG_REQUEUE = """
WITH v AS (
  SELECT * FROM unnest(CAST(:ids AS BIGINT[]), CAST(:statuses AS TEXT[]),
                       CAST(:errors AS TEXT[])) AS v(id, status, last_error)
)
UPDATE deliveries AS d
SET status = v.status, last_error = COALESCE(v.last_error, d.last_error), updated_at = :now,
    answer_lost = TRUE
FROM v WHERE d.id = v.id AND d.id = ANY(ARRAY(SELECT id FROM v))
"""

_PG_MOVE_TOTALS = """
WITH locked AS (
  SELECT id FROM mailing_runs WHERE id = ANY(CAST(:run_ids AS BIGINT[])) ORDER BY id FOR UPDATE
)
UPDATE mailing_runs AS r
SET pending = r.pending + v.pending, sending = r.sending + v.sending,
    delivered = r.delivered + v.delivered, failed = r.failed + v.failed,
    refused = r.refused + v.refused
FROM unnest(CAST(:run_ids AS BIGINT[]), CAST(:pending AS INT[]), CAST(:sending AS INT[]),
            CAST(:delivered AS INT[]), CAST(:failed AS INT[]), CAST(:refused AS INT[]))
     AS v(run_id, pending, sending, delivered, failed, refused)
WHERE r.id = v.run_id AND r.id IN (SELECT id FROM locked)
"""

# Follow-ups (recalls, edits: ``mailing_runs.kind``) deliver nothing: the channel's
# statistics never count them.
# After the totals: the run rows are locked by then, so batches of one run add to the
# same minute one after the other and never wait on each other in a circle.
_PG_ADD_MINUTES = """
INSERT INTO run_minutes AS t (run_id, minute, channel, delivered, failed, refused)
SELECT v.run_id, CAST(:minute AS TIMESTAMPTZ), m.channel, v.delivered, v.failed, v.refused
FROM unnest(CAST(:run_ids AS BIGINT[]), CAST(:delivered AS INT[]), CAST(:failed AS INT[]),
            CAST(:refused AS INT[])) AS v(run_id, delivered, failed, refused)
JOIN mailing_runs AS r ON r.id = v.run_id AND r.kind = 'send'
JOIN mailings AS m ON m.id = r.mailing_id
ORDER BY v.run_id
ON CONFLICT (run_id, minute, channel) DO UPDATE
SET delivered = t.delivered + EXCLUDED.delivered, failed = t.failed + EXCLUDED.failed,
    refused = t.refused + EXCLUDED.refused
"""

POSTGRESQL = Dialect(
    claim=_now(text(_PG_CLAIM), "now").columns(
        column("id"),
        column("run_id"),
        column("address_id"),
        column("attempts"),
        column("variant"),
        *_ADDRESS_COLUMNS,
    ),
    claimed_addresses=None,
    lock_sending=text(_PG_LOCK_SENDING),
    complete=_now(text(_PG_COMPLETE), "now"),
    suppress=_now(text(_PG_SUPPRESS), "now"),
    expired=_now(text(_PG_EXPIRED), "cutoff", "dead_before"),
    requeue=_now(text(_PG_REQUEUE), "now"),
    move_totals=text(_PG_MOVE_TOTALS),
    add_minutes=_now(text(_PG_ADD_MINUTES), "minute"),
)

# -- SQLite ---------------------------------------------------------------------------
# One process, and every transaction starts with BEGIN IMMEDIATE (see engine.py): the
# write lock is held from the first statement, so no row locks are needed.

_SQLITE_CLAIM = """
UPDATE deliveries
SET status = 'sending', claimed_at = :now, claimed_by = :worker, attempts = attempts + 1,
    updated_at = :now
WHERE id IN (
  SELECT d.id FROM mailing_runs AS r JOIN deliveries AS d ON d.run_id = r.id
  WHERE r.status = 'running' AND r.bulk_state IS NULL AND d.status = 'pending'
    AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= :now)
  ORDER BY r.id, d.id LIMIT :limit
)
RETURNING id, run_id, address_id, attempts, variant
"""

_SQLITE_CLAIMED_ADDRESSES = """
SELECT id, kind, value, attributes FROM addresses
WHERE id IN (SELECT value FROM json_each(:ids))
"""

_SQLITE_LOCK_SENDING = """
SELECT id, run_id, address_id, attempts, status FROM deliveries
WHERE id IN (SELECT value FROM json_each(:ids))
ORDER BY id
"""

_SQLITE_COMPLETE = """
UPDATE deliveries
SET status = json_extract(j.value, '$[1]'), last_error = json_extract(j.value, '$[2]'),
    provider_message_id = json_extract(j.value, '$[3]'),
    next_attempt_at = json_extract(j.value, '$[4]'),
    attempts = attempts - json_extract(j.value, '$[5]'), updated_at = :now,
    answer_lost = answer_lost OR json_extract(j.value, '$[6]')
FROM json_each(:rows) AS j
WHERE deliveries.id = json_extract(j.value, '$[0]')
"""

_SQLITE_SUPPRESS = """
UPDATE addresses SET refused_at = :now
WHERE refused_at IS NULL AND id IN (SELECT value FROM json_each(:ids))
"""

_SQLITE_EXPIRED = """
SELECT d.id, d.run_id, d.attempts FROM mailing_runs AS r JOIN deliveries AS d ON d.run_id = r.id
WHERE r.status IN ('running', 'paused') AND r.bulk_state IS NULL AND d.status = 'sending'
  AND (d.claimed_at < :cutoff OR d.claimed_by IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM workers AS w WHERE w.id = d.claimed_by AND w.beat_at >= :dead_before))
ORDER BY d.id
"""

_SQLITE_REQUEUE = """
UPDATE deliveries
SET status = json_extract(j.value, '$[1]'),
    last_error = COALESCE(json_extract(j.value, '$[2]'), deliveries.last_error), updated_at = :now,
    answer_lost = 1
FROM json_each(:rows) AS j
WHERE deliveries.id = json_extract(j.value, '$[0]')
"""

_SQLITE_MOVE_TOTALS = """
UPDATE mailing_runs
SET pending = pending + json_extract(j.value, '$[1]'),
    sending = sending + json_extract(j.value, '$[2]'),
    delivered = delivered + json_extract(j.value, '$[3]'),
    failed = failed + json_extract(j.value, '$[4]'),
    refused = refused + json_extract(j.value, '$[5]')
FROM json_each(:rows) AS j
WHERE mailing_runs.id = json_extract(j.value, '$[0]')
"""

# ``WHERE true``: SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
_SQLITE_ADD_MINUTES = """
INSERT INTO run_minutes (run_id, minute, channel, delivered, failed, refused)
SELECT r.id, :minute, m.channel, json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'),
       json_extract(j.value, '$[3]')
FROM json_each(:rows) AS j
JOIN mailing_runs AS r ON r.id = json_extract(j.value, '$[0]') AND r.kind = 'send'
JOIN mailings AS m ON m.id = r.mailing_id
WHERE true
ON CONFLICT (run_id, minute, channel) DO UPDATE
SET delivered = delivered + excluded.delivered, failed = failed + excluded.failed,
    refused = refused + excluded.refused
"""

SQLITE = Dialect(
    claim=_now(text(_SQLITE_CLAIM), "now"),
    claimed_addresses=text(_SQLITE_CLAIMED_ADDRESSES).columns(column("id"), *_ADDRESS_COLUMNS),
    lock_sending=text(_SQLITE_LOCK_SENDING),
    complete=_now(text(_SQLITE_COMPLETE), "now"),
    suppress=_now(text(_SQLITE_SUPPRESS), "now"),
    expired=_now(text(_SQLITE_EXPIRED), "cutoff", "dead_before"),
    requeue=_now(text(_SQLITE_REQUEUE), "now"),
    move_totals=text(_SQLITE_MOVE_TOTALS),
    add_minutes=_now(text(_SQLITE_ADD_MINUTES), "minute"),
)
