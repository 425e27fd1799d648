"""Worker processes keep a heartbeat; every claimed delivery names its worker.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``workers`` holds one row per process that claims deliveries, stamped every few seconds
(``beat_at``). ``deliveries.claimed_by`` names the process that claimed a row last, so
the rows of a process whose heartbeat stopped go back to the queue at once instead of
waiting for their lease. No foreign key: a dead process's row is removed while the rows
it claimed are being requeued, and a snapshot must not pay a check per row.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    # A nullable column without a default: PostgreSQL adds it without rewriting the table.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claimed_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claimed_by")
    op.drop_table("workers")
