"""Possible duplicates: ``deliveries.answer_lost``.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

Set when an attempt's answer did not say whether the message went out (a 5xx from the
Bot API or a webhook, or a worker that died while sending, whose row is requeued): the
message is tried again, and if it is delivered then, the recipient may have it twice.
Statistics and exports count those rows as "possibly sent twice" (the at-least-once
cost). A small partial index finds a run's few marked rows without reading the others.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("answer_lost", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_deliveries_run_id_answer_lost",
        "deliveries",
        ["run_id"],
        postgresql_where=sa.text("answer_lost"),
        sqlite_where=sa.text("answer_lost"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_run_id_answer_lost", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("answer_lost")
