"""A/B tests: each delivery's variant, and the run's waiting time and verdict.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

``deliveries.variant`` is the variant (0 = A) a recipient got: set by the snapshot for
the sample, and for the rest once the winner is known (they wait, held, until then).
``mailing_runs.ab_due_at`` is when the winner is picked; the scheduler clears it in the
transaction that sends the winner to the rest, so that happens exactly once whatever
restarts or bot instances. ``ab_result`` keeps the verdict (winner, counts, margin).

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("variant", sa.SmallInteger(), nullable=True))
    with op.batch_alter_table("mailing_runs") as batch:
        batch.add_column(sa.Column("ab_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("ab_result", JSON, nullable=True))
        batch.create_index("ix_mailing_runs_ab_due_at", ["ab_due_at"])


def downgrade() -> None:
    with op.batch_alter_table("mailing_runs") as batch:
        batch.drop_index("ix_mailing_runs_ab_due_at")
        batch.drop_column("ab_result")
        batch.drop_column("ab_due_at")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("variant")
