"""Runs: why the engine stopped one (``problem``), e.g. the SMTP relay refused our AUTH.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

A channel that cannot send at all (an untrusted certificate, AUTH refused, 5xx on MAIL
FROM) pauses the run instead of failing its recipients one by one; the reason is kept on
the run until someone resumes it, so the manager reads it on the progress message and on
the card. Mass sends keep theirs in ``bulk_state`` as before.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.add_column(sa.Column("problem", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.drop_column("problem")
