"""Event webhooks: the endpoints admins register and the outbox of events to send them
(one row per event and endpoint, kept with its attempts and last answer).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", BIGINT_PK, primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("events", sa.String(400), nullable=False),
        sa.Column("created_by", sa.BigInteger()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", BIGINT_PK, primary_key=True),
        sa.Column(
            "endpoint_id",
            BIGINT_PK,
            sa.ForeignKey(
                "webhook_endpoints.id",
                ondelete="CASCADE",
                name="fk_webhook_outbox_endpoint_id_webhook_endpoints",
            ),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_outbox"),
        sa.UniqueConstraint(
            "endpoint_id", "event_id", name="uq_webhook_outbox_endpoint_id_event_id"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name="ck_webhook_outbox_status"
        ),
    )
    op.create_index("ix_webhook_outbox_status_next_at", "webhook_outbox", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_outbox_status_next_at", table_name="webhook_outbox")
    op.drop_table("webhook_outbox")
    op.drop_table("webhook_endpoints")
