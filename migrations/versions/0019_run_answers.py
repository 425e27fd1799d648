"""Answers of recipients to a run's answer buttons, one row per recipient.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

A second press changes the row (the primary key is the run and the recipient); counts
per option are read grouped by ``run_id``.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_answers",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("address_id", sa.BigInteger(), nullable=False),
        sa.Column("option", sa.Integer(), nullable=False),
        sa.Column("presses", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mailing_runs.id"],
            name=op.f("fk_run_answers_run_id_mailing_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "address_id", name=op.f("pk_run_answers")),
    )


def downgrade() -> None:
    op.drop_table("run_answers")
