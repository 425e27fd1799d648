"""Runs remember their live progress message, so a restart picks it up again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

The chat and message the launching manager watches (and the language it is written in)
are kept on the run until its summary is shown: a bot restarted while the run sends goes
on editing the same message instead of leaving it frozen.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.add_column(sa.Column("progress_chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("progress_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("progress_locale", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.drop_column("progress_locale")
        batch.drop_column("progress_message_id")
        batch.drop_column("progress_chat_id")
