"""Names are unique in the database: lists and templates (ignoring case), each manager's
mailings (archived ones free their names).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

The use cases refused a taken name before, but two requests at the same moment could
both pass that check. Names that are already repeated keep the oldest as it is; each
later one gets the first free `` (2)``, `` (3)``… suffix (cut to the column's 200
characters), so nothing is lost and the indexes can be built. Case is folded by the
database's own ``lower``, as the index does.

Self-contained on purpose (no imports from the application).
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_MAX = 200


def _key(conn: sa.Connection, name: str, fold: bool) -> str:
    """What the index compares: the name, or the database's ``lower`` of it."""
    if not fold:
        return name
    return str(conn.execute(sa.text("SELECT lower(:name)"), {"name": name}).scalar_one())


def _free(conn: sa.Connection, name: str, taken: set[str], fold: bool) -> str:
    for n in range(2, 100_000):
        suffix = f" ({n})"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if _key(conn, candidate, fold) not in taken:
            return candidate
    raise RuntimeError(f"no free name for {name!r}")


def _dedupe(table: str, scope: str | None, fold: bool, where: str = "") -> None:
    """Rename every repeat of a name within ``scope`` (a column, or the whole table)."""
    conn = op.get_bind()
    key = "lower(name)" if fold else "name"
    owner = scope or "NULL"
    rows = conn.execute(
        sa.text(f"SELECT id, {owner}, name, {key} FROM {table} {where} ORDER BY id")  # noqa: S608
    ).all()
    taken: dict[object, set[str]] = defaultdict(set)
    repeats = []
    for row_id, scoped, name, folded in rows:
        if folded in taken[scoped]:
            repeats.append((row_id, scoped, name))
        taken[scoped].add(folded)
    for row_id, scoped, name in repeats:
        new = _free(conn, name, taken[scoped], fold)
        taken[scoped].add(_key(conn, new, fold))
        conn.execute(
            sa.text(f"UPDATE {table} SET name = :name WHERE id = :id"),  # noqa: S608
            {"name": new, "id": row_id},
        )


def upgrade() -> None:
    _dedupe("recipient_lists", None, fold=True)
    _dedupe("templates", None, fold=True)
    _dedupe("mailings", "owner_id", fold=False, where="WHERE archived_at IS NULL")
    op.create_index(
        "uq_recipient_lists_name", "recipient_lists", [sa.text("lower(name)")], unique=True
    )
    op.create_index("uq_templates_name", "templates", [sa.text("lower(name)")], unique=True)
    op.create_index(
        "uq_mailings_owner_id_name",
        "mailings",
        ["owner_id", "name"],
        unique=True,
        postgresql_where=sa.text("archived_at IS NULL"),
        sqlite_where=sa.text("archived_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_mailings_owner_id_name", table_name="mailings")
    op.drop_index("uq_templates_name", table_name="templates")
    op.drop_index("uq_recipient_lists_name", table_name="recipient_lists")
