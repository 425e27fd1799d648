"""Sends per run and minute: the sending rate of a run and the per-channel statistics.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

The delivery queue adds each batch's final results here (one upsert per batch), so the
charts, run history and per-channel figures never read ``deliveries``, whose rows a
retention job may remove. Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "run_minutes",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        counter("delivered"),
        counter("failed"),
        counter("refused"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mailing_runs.id"],
            name=op.f("fk_run_minutes_run_id_mailing_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "minute", "channel", name=op.f("pk_run_minutes")),
    )
    op.create_index(op.f("ix_run_minutes_minute"), "run_minutes", ["minute"])


def downgrade() -> None:
    op.drop_index(op.f("ix_run_minutes_minute"), table_name="run_minutes")
    op.drop_table("run_minutes")
