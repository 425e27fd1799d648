"""Bounces, complaints, opens and clicks.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Totals per run (``run_tracking``) and per link (``run_links``) are what statistics read;
``delivery_tracking`` and ``link_clicks`` hold one row per delivery that opened or
clicked (to count each person once), ``bounces`` every message read from the bounce
mailbox (to count each once), ``addresses.soft_bounces`` the soft bounces in a row
(and ``soft_bounce_run_id`` the run of the latest).

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS = "'hard', 'soft', 'complaint', 'not_bounce', 'unknown', 'malformed'"


def counter(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("addresses") as batch:
        batch.add_column(counter("soft_bounces"))
        batch.add_column(sa.Column("soft_bounce_run_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "run_tracking",
        sa.Column("run_id", BIGINT, nullable=False),
        *(
            counter(name)
            for name in (
                "opened",
                "clicked",
                "clicks",
                "bot_clicks",
                "bounced",
                "soft_bounced",
                "complained",
            )
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mailing_runs.id"],
            ondelete="CASCADE",
            name="fk_run_tracking_run_id_mailing_runs",
        ),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_tracking"),
    )
    op.create_table(
        "run_links",
        sa.Column("run_id", BIGINT, nullable=False),
        sa.Column("link_index", sa.Integer(), autoincrement=False, nullable=False),
        counter("clicks"),
        counter("unique_clicks"),
        counter("bot_clicks"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mailing_runs.id"],
            ondelete="CASCADE",
            name="fk_run_links_run_id_mailing_runs",
        ),
        sa.PrimaryKeyConstraint("run_id", "link_index", name="pk_run_links"),
    )
    op.create_table(
        "delivery_tracking",
        sa.Column("delivery_id", BIGINT, autoincrement=False, nullable=False),
        sa.Column("run_id", BIGINT, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        counter("opens"),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=True),
        counter("clicks"),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_delivery_tracking"),
    )
    op.create_index("ix_delivery_tracking_run_id", "delivery_tracking", ["run_id"])
    op.create_table(
        "link_clicks",
        sa.Column("delivery_id", BIGINT, autoincrement=False, nullable=False),
        sa.Column("link_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_id", BIGINT, nullable=False),
        counter("clicks"),
        sa.Column(
            "first_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("delivery_id", "link_index", name="pk_link_clicks"),
    )
    op.create_index("ix_link_clicks_run_id", "link_clicks", ["run_id"])
    op.create_table(
        "bounces",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("address_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recipient", sa.String(512), nullable=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_bounces_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_bounces"),
        sa.UniqueConstraint("message_key", name="uq_bounces_message_key"),
    )
    op.create_index("ix_bounces_delivery_id", "bounces", ["delivery_id"])
    op.create_index("ix_bounces_received_at", "bounces", ["received_at"])


def downgrade() -> None:
    op.drop_table("bounces")
    op.drop_table("link_clicks")
    op.drop_table("delivery_tracking")
    op.drop_table("run_links")
    op.drop_table("run_tracking")
    with op.batch_alter_table("addresses") as batch:
        batch.drop_column("soft_bounce_run_id")
        batch.drop_column("soft_bounces")
