"""Run totals: "pending" now includes the recipients being sent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Workers no longer move a claimed batch from ``pending`` to ``sending`` in the run's
totals: that update made every claim wait for the run row's lock behind the other
workers' records. Runs in flight at the upgrade fold their ``sending`` count into
``pending`` so their totals stay exact and they still finish.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE mailing_runs SET pending = pending + sending, sending = 0 WHERE sending <> 0"
    )


def downgrade() -> None:
    # Claimed rows are counted as pending; the old code moves them from sending, so put
    # them there again.
    op.execute(
        "UPDATE mailing_runs SET sending = (SELECT COUNT(*) FROM deliveries AS d"
        " WHERE d.run_id = mailing_runs.id AND d.status = 'sending'),"
        " pending = pending - (SELECT COUNT(*) FROM deliveries AS d"
        " WHERE d.run_id = mailing_runs.id AND d.status = 'sending')"
    )
