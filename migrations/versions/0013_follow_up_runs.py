"""Runs: a kind (send, or a follow-up: recall, edit) and a follow-up's send run.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A follow-up run acts on the Telegram copies a send run delivered (deleteMessage,
editMessageText/Caption) through the delivery engine: its delivery rows carry the sent
message's id (``provider_message_id``, copied from the send run's rows). Every existing
run is a send run.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="send"))
        batch.add_column(sa.Column("source_run_id", sa.BigInteger(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_mailing_runs_kind"), "kind IN ('send', 'recall', 'edit')"
        )
        batch.create_index("ix_mailing_runs_source_run_id", ["source_run_id"])


def downgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.drop_index("ix_mailing_runs_source_run_id")
        batch.drop_constraint(op.f("ck_mailing_runs_kind"), type_="check")
        batch.drop_column("source_run_id")
        batch.drop_column("kind")
