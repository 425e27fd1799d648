"""An A/B test's split in the snapshot's own ``INSERT … SELECT`` (``domain.ab_test``).

Each recipient's bucket is the same number ``domain.ab_test.bucket`` computes: the first
32 bits of ``md5(seed:address id)`` modulo ``BUCKETS`` — PostgreSQL's ``md5()``, and on
SQLite ``mf_ab_bucket``, that very Python function registered on every connection
(``engine.py``). Buckets below the sample's limit are the sample, cut into even slices
(the variant); the rest get no variant and are held (``HELD``) until the winner is known.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, String, case, cast, func, literal, null
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.sql.elements import ColumnElement

from domain.ab_test import BUCKETS, HELD, Split, sample_limit
from infrastructure.db.base import UTCDateTime


def bucket(dialect: str, seed: str, address_id: ColumnElement[Any]) -> ColumnElement[Any]:
    if dialect != "postgresql":
        return func.mf_ab_bucket(literal(seed, String), address_id)
    digest = func.md5(literal(seed + ":", String) + cast(address_id, String))
    first = cast(cast(literal("x", String) + func.substr(digest, 1, 8), BIT(32)), BigInteger)
    return first % BUCKETS


def placed(
    dialect: str, split: Split, address_id: ColumnElement[Any], due: ColumnElement[Any] | None
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Each row's variant (NULL: the rest) and when it may go (the rest: held)."""
    value = bucket(dialect, split.seed, address_id)
    limit = sample_limit(split.percent)
    in_sample = value < limit
    variant = case((in_sample, (value * split.variants) // limit), else_=null())
    held = literal(HELD, UTCDateTime())
    return variant, case((in_sample, due if due is not None else null()), else_=held)
