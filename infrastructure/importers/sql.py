"""SQL pieces both backends share.

Staging tables (temporary, private to the import's connection): ``import_rows`` holds every
valid record (line, kind, value, a0 … an: the attribute texts as read), ``import_unique``
one row per (kind, value), the last occurrence in the file winning.
Attribute keys are placed into the SQL as literals: they are sanitised to letters, digits
and ``_`` (``headers.attribute_key``), and parameters are not allowed in ``CREATE … AS``;
list ids are integers. Hence ``noqa: S608`` on the statements built with f-strings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import NotFound
from infrastructure.db.base import utcnow
from infrastructure.db.models import RecipientListRow

# Whitespace a cell may be padded with: space, tab, CR, LF, no-break space.
BLANKS = "' \t\r\n\u00a0'"
PAIRS_PER_CALL = 40  # both backends cap a function's arguments (PostgreSQL at 100)


@dataclass(frozen=True, slots=True)
class Counts:
    unique: int  # distinct valid addresses in the file
    suppressed: int  # of those, unsubscribed or refused
    already_there: int  # of the rest, members of the list before the import
    gone: int = 0  # a re-import from the list's source: members it does not hold

    @property
    def added(self) -> int:
        return self.unique - self.suppressed - self.already_there


def attribute_columns(count: int) -> list[str]:
    return [f"a{index}" for index in range(count)]


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_object(
    keys: Sequence[str],
    build: Callable[[str], str],
    merge: Callable[[str, str], str],
    trim: str = "trim",
) -> str:
    """An SQL expression building ``{key: a<i>}`` from the stripped attribute texts, with
    NULL for the empty ones (which the caller's ``build`` and ``merge`` must drop)."""
    columns = [f"NULLIF({trim}({a}, {BLANKS}), '')" for a in attribute_columns(len(keys))]
    pairs = [f"{literal(key)}, {column}" for key, column in zip(keys, columns, strict=True)]
    chunks = [pairs[i : i + PAIRS_PER_CALL] for i in range(0, len(pairs), PAIRS_PER_CALL)]
    parts = [build(", ".join(chunk)) for chunk in chunks]
    expression = parts[0] if parts else build("")
    for part in parts[1:]:
        expression = merge(expression, part)
    return expression


async def lock_list(conn: AsyncConnection, list_id: int, *, for_update: bool) -> None:
    """Make sure the list exists (and keep others from deleting it until we are done)."""
    stmt = select(func.count()).select_from(RecipientListRow).where(RecipientListRow.id == list_id)
    if for_update:
        stmt = select(RecipientListRow.id).where(RecipientListRow.id == list_id).with_for_update()
    if not (await conn.execute(stmt)).scalar():
        raise NotFound("import-list-not-found", list_id=list_id)


async def touch_list(conn: AsyncConnection, list_id: int) -> None:
    stmt = update(RecipientListRow).where(RecipientListRow.id == list_id)
    await conn.execute(stmt.values(updated_at=utcnow()))


async def mark_gone(conn: AsyncConnection, list_id: int, seen: str, *, sync: bool) -> int:
    """Members found in the file lose a "gone" mark; with ``sync`` (a re-import from the
    list's own source) every other member gets one, for ``lists.remove_gone``. ``seen``
    is the staging table whose ``id`` column holds the file's known addresses; new ones
    must not be members yet. Returns how many members are marked gone (0 without sync)."""
    found = f"EXISTS (SELECT 1 FROM {seen} s WHERE s.id = list_members.address_id)"  # noqa: S608
    await conn.exec_driver_sql(f"""
        UPDATE list_members SET gone_at = NULL
        WHERE list_id = {list_id:d} AND gone_at IS NOT NULL AND {found}
    """)  # noqa: S608 (an integer and a staging table's name)
    if not sync:
        return 0
    await conn.exec_driver_sql(f"""
        UPDATE list_members SET gone_at = CURRENT_TIMESTAMP
        WHERE list_id = {list_id:d} AND gone_at IS NULL AND NOT {found}
    """)  # noqa: S608 (an integer and a staging table's name)
    result = await conn.exec_driver_sql(f"""
        SELECT count(*) FROM list_members WHERE list_id = {list_id:d} AND gone_at IS NOT NULL
    """)  # noqa: S608 (an integer)
    return int(result.scalar() or 0)
