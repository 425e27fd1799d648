"""Mailings: ``fast`` (Telegram paid broadcasts) or free.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

A fast mailing is sent at ``TELEGRAM_RATE`` with ``allow_paid_broadcast`` on every send
(0.1 Telegram Star a message); every existing mailing stays free (30 messages/s).

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailings") as batch:
        batch.add_column(
            sa.Column("fast", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("mailings") as batch:
        batch.drop_column("fast")
