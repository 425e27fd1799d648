"""PostgreSQL wakes idle workers when a run starts or resumes (LISTEN/NOTIFY).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

A trigger on ``mailing_runs`` sends ``NOTIFY mailforge_work`` (the run's id as payload)
whenever a run is written as running: a launch, a scheduled slot, a resume, a run started
again after a crash. The notification goes out when the transaction commits, so a worker
woken by it finds the run's recipients there. Workers ``LISTEN`` on a connection of their
own and otherwise poll only as a safety net. SQLite has no such thing: workers poll.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION mailforge_wake_workers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('mailforge_work', NEW.id::text);
            RETURN NULL;
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER mailing_runs_wake_workers
        AFTER INSERT OR UPDATE OF status ON mailing_runs
        FOR EACH ROW WHEN (NEW.status = 'running')
        EXECUTE FUNCTION mailforge_wake_workers()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER mailing_runs_wake_workers ON mailing_runs")
    op.execute("DROP FUNCTION mailforge_wake_workers()")
