"""Initial schema: users, addresses, lists, templates, mailings, runs, deliveries, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Self-contained on purpose (no imports from the application): a later change to the
models must not change what this revision builds.
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite autoincrements only an INTEGER PRIMARY KEY.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
EMPTY_JSON = sa.text("'{}'")


def timestamp(name: str, *, now: bool = False) -> sa.Column[datetime]:
    if now:
        return sa.Column(
            name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        )
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def one_of(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("full_name", sa.String(length=256), server_default="", nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("granted_by", sa.BigInteger(), nullable=True),
        timestamp("granted_at"),
        timestamp("created_at", now=True),
        timestamp("updated_at", now=True),
        one_of("users", "role", ["admin", "manager"]),
        sa.PrimaryKeyConstraint("telegram_id", name=op.f("pk_users")),
    )
    op.create_index("ix_users_username_lower", "users", [sa.text("lower(username)")])

    op.create_table(
        "addresses",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("attributes", JSON, server_default=EMPTY_JSON, nullable=False),
        timestamp("unsubscribed_at"),
        timestamp("refused_at"),
        timestamp("subscribed_at"),
        timestamp("created_at", now=True),
        one_of("addresses", "kind", ["email", "telegram", "webhook"]),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_addresses_kind_value")),
    )

    op.create_table(
        "recipient_lists",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), server_default="manual", nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=True),
        timestamp("created_at", now=True),
        timestamp("updated_at", now=True),
        one_of(
            "recipient_lists", "source_kind", ["manual", "file", "url", "sendsay", "subscribers"]
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipient_lists")),
    )

    op.create_table(
        "list_members",
        sa.Column("list_id", ID, nullable=False),
        sa.Column("address_id", ID, nullable=False),
        timestamp("added_at", now=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["recipient_lists.id"],
            name=op.f("fk_list_members_list_id_recipient_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["address_id"],
            ["addresses.id"],
            name=op.f("fk_list_members_address_id_addresses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "address_id", name=op.f("pk_list_members")),
    )
    op.create_index(op.f("ix_list_members_address_id"), "list_members", ["address_id"])

    op.create_table(
        "templates",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        timestamp("created_at", now=True),
        timestamp("updated_at", now=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
    )

    op.create_table(
        "mailings",
        sa.Column("id", ID, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("template_id", ID, nullable=True),
        sa.Column("media", JSON, nullable=True),
        sa.Column("options", JSON, server_default=EMPTY_JSON, nullable=False),
        sa.Column("schedule_kind", sa.String(length=8), server_default="none", nullable=False),
        timestamp("run_at"),
        sa.Column("cron", sa.String(length=128), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        timestamp("ends_at"),
        sa.Column("max_runs", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        timestamp("archived_at"),
        timestamp("created_at", now=True),
        timestamp("updated_at", now=True),
        one_of("mailings", "channel", ["email", "telegram", "sendsay", "webhook"]),
        one_of("mailings", "schedule_kind", ["none", "once", "cron"]),
        one_of(
            "mailings",
            "status",
            ["draft", "scheduled", "running", "paused", "completed", "cancelled", "failed"],
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_mailings_template_id_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailings")),
    )
    op.create_index(op.f("ix_mailings_owner_id"), "mailings", ["owner_id"])
    op.create_index(op.f("ix_mailings_status"), "mailings", ["status"])

    op.create_table(
        "mailing_lists",
        sa.Column("mailing_id", ID, nullable=False),
        sa.Column("list_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["mailing_id"],
            ["mailings.id"],
            name=op.f("fk_mailing_lists_mailing_id_mailings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["recipient_lists.id"],
            name=op.f("fk_mailing_lists_list_id_recipient_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mailing_id", "list_id", name=op.f("pk_mailing_lists")),
    )
    op.create_index(op.f("ix_mailing_lists_list_id"), "mailing_lists", ["list_id"])

    op.create_table(
        "mailing_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("mailing_id", ID, nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content", JSON, server_default=EMPTY_JSON, nullable=False),
        counter("pending"),
        counter("sending"),
        counter("delivered"),
        counter("failed"),
        counter("refused"),
        sa.Column("launched_by", sa.BigInteger(), nullable=True),
        sa.Column("is_test", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        timestamp("started_at"),
        timestamp("finished_at"),
        one_of(
            "mailing_runs",
            "status",
            ["running", "paused", "completed", "cancelled", "failed", "skipped"],
        ),
        sa.ForeignKeyConstraint(
            ["mailing_id"],
            ["mailings.id"],
            name=op.f("fk_mailing_runs_mailing_id_mailings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailing_runs")),
        sa.UniqueConstraint(
            "mailing_id", "scheduled_for", name=op.f("uq_mailing_runs_mailing_id_scheduled_for")
        ),
    )
    op.create_index(op.f("ix_mailing_runs_status"), "mailing_runs", ["status"])

    op.create_table(
        "deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("address_id", ID, nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        counter("attempts"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=256), nullable=True),
        timestamp("next_attempt_at"),
        timestamp("claimed_at"),
        timestamp("updated_at", now=True),
        one_of("deliveries", "status", ["pending", "sending", "delivered", "failed", "refused"]),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["mailing_runs.id"],
            name=op.f("fk_deliveries_run_id_mailing_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["address_id"],
            ["addresses.id"],
            name=op.f("fk_deliveries_address_id_addresses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("run_id", "address_id", name=op.f("uq_deliveries_run_id_address_id")),
    )
    # The claim query walks (run_id, status='pending') in id order.
    op.create_index("ix_deliveries_run_id_status_id", "deliveries", ["run_id", "status", "id"])

    op.create_table(
        "audit_log",
        sa.Column("id", ID, nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("details", JSON, server_default=EMPTY_JSON, nullable=False),
        timestamp("created_at", now=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_created_at"), "audit_log", ["created_at"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "audit_log",
        "deliveries",
        "mailing_runs",
        "mailing_lists",
        "mailings",
        "templates",
        "list_members",
        "recipient_lists",
        "addresses",
        "users",
    ):
        op.drop_table(table)
