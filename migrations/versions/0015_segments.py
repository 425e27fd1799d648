"""Segments: a mailing's targeting, the fields each list has, and saved segments.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

``mailings.targeting`` holds who of its lists a mailing goes to (``domain.targeting``:
a segment and exclusions; ``{}`` is everyone). ``recipient_lists.fields`` names the
attribute keys its members have (filled by imports, backfilled here once from the
members), so the dialog offers them and refuses a condition on a field no list has.
``segments`` are the saved, reusable segments of /lists.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

BACKFILL = {
    "postgresql": """
        UPDATE recipient_lists AS l SET fields = COALESCE((
            SELECT jsonb_agg(DISTINCT k.key ORDER BY k.key)
            FROM list_members AS m JOIN addresses AS a ON a.id = m.address_id
            CROSS JOIN LATERAL jsonb_object_keys(a.attributes) AS k(key)
            WHERE m.list_id = l.id), '[]'::jsonb)
    """,
    "sqlite": """
        UPDATE recipient_lists SET fields = COALESCE((
            SELECT json_group_array(key) FROM (
                SELECT DISTINCT k.key AS key
                FROM list_members AS m JOIN addresses AS a ON a.id = m.address_id,
                     json_each(a.attributes) AS k
                WHERE m.list_id = recipient_lists.id ORDER BY k.key)), '[]')
    """,
}


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: a batch rebuild of a SQLite table would lose its
    # expression indexes (uq_recipient_lists_name), which reflection cannot see.
    op.add_column(
        "mailings", sa.Column("targeting", JSON, server_default=sa.text("'{}'"), nullable=False)
    )
    op.add_column(
        "recipient_lists",
        sa.Column("fields", JSON, server_default=sa.text("'[]'"), nullable=False),
    )
    op.execute(BACKFILL[op.get_bind().dialect.name])
    op.create_table(
        "segments",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_segments"),
    )
    op.create_index(
        "uq_segments_owner_id_name",
        "segments",
        ["owner_id", sa.text("lower(name)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_segments_owner_id_name", table_name="segments")
    op.drop_table("segments")
    # Plain DROP COLUMN (SQLite 3.35+), for the same reason.
    op.execute("ALTER TABLE recipient_lists DROP COLUMN fields")
    op.execute("ALTER TABLE mailings DROP COLUMN targeting")
