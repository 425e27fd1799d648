"""Runs remember a Sendsay mass send: its state, and when a worker may take it next.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

``mailing_runs.bulk_state`` (JSON, NULL for a run sent recipient by recipient) holds the
phase of a mass send and Sendsay's track and issue ids, so a restarted worker resumes
polling instead of sending the issue twice. ``mailing_runs.bulk_due_at`` is the lease of
the worker that holds it, and the time of the next poll: a worker takes a bulk run only
once it is due.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.add_column(sa.Column("bulk_state", JSON, nullable=True))
        batch.add_column(sa.Column("bulk_due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.drop_column("bulk_due_at")
        batch.drop_column("bulk_state")
