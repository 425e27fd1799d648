"""Runs: ``autodelete_at``, when a Telegram run's copies are deleted by themselves.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Set at launch from the mailing's auto-delete option (1–47 hours after the run starts);
the scheduler starts a recall once it is due and clears it in the same transaction, so
the deletion happens exactly once, whatever restarts or bot instances.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.add_column(sa.Column("autodelete_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_mailing_runs_autodelete_at", ["autodelete_at"])


def downgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.drop_index("ix_mailing_runs_autodelete_at")
        batch.drop_column("autodelete_at")
