"""Members of each list per address kind, kept by triggers; suppressed addresses indexed.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

Ticking a list of 1,000,000 members in the mailing dialog counted its reachable members
with a join over both big tables: 1.7-2.1 s on PostgreSQL right after the import (issue
15, point 7). ``list_counts`` holds, per list and kind, how many members it has; triggers
on ``list_members`` keep it exact whoever writes (the importers, a member added by hand,
the bot's subscribers, a list or an address deleted, a TRUNCATE). The reachable count is
then that figure minus the list's suppressed members, found through the partial index
``ix_addresses_suppressed`` (unsubscribed or refused addresses are few).

PostgreSQL counts a whole statement at once (transition tables: an import of a million
members is one grouped join, not a million trigger calls); SQLite counts row by row.
An address deleted (never by the application, but by hand) takes its memberships off
before its row goes, so the cascade that follows finds no address and counts nothing.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUPPRESSED = "unsubscribed_at IS NOT NULL OR refused_at IS NOT NULL"

POSTGRESQL = [
    """
    CREATE FUNCTION mailforge_count_members_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO list_counts (list_id, kind, members)
        SELECT n.list_id, a.kind, count(*)
        FROM added n JOIN addresses a ON a.id = n.address_id
        GROUP BY n.list_id, a.kind ORDER BY n.list_id, a.kind
        ON CONFLICT (list_id, kind)
        DO UPDATE SET members = list_counts.members + EXCLUDED.members;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION mailforge_count_members_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE list_counts c SET members = c.members - r.members
        FROM (
            SELECT o.list_id, a.kind, count(*) AS members
            FROM removed o JOIN addresses a ON a.id = o.address_id
            GROUP BY o.list_id, a.kind ORDER BY o.list_id, a.kind
        ) r
        WHERE c.list_id = r.list_id AND c.kind = r.kind;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION mailforge_count_address_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE list_counts c SET members = c.members - 1
        FROM list_members m
        WHERE m.address_id = OLD.id AND c.list_id = m.list_id AND c.kind = OLD.kind;
        RETURN OLD;
    END
    $$
    """,
    """
    CREATE FUNCTION mailforge_count_members_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM list_counts;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER list_members_count_added AFTER INSERT ON list_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION mailforge_count_members_added()
    """,
    """
    CREATE TRIGGER list_members_count_removed AFTER DELETE ON list_members
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION mailforge_count_members_removed()
    """,
    """
    CREATE TRIGGER addresses_count_removed BEFORE DELETE ON addresses
    FOR EACH ROW EXECUTE FUNCTION mailforge_count_address_removed()
    """,
    """
    CREATE TRIGGER list_members_count_truncated AFTER TRUNCATE ON list_members
    FOR EACH STATEMENT EXECUTE FUNCTION mailforge_count_members_truncated()
    """,
]

SQLITE = [
    """
    CREATE TRIGGER list_members_count_added AFTER INSERT ON list_members BEGIN
        INSERT INTO list_counts (list_id, kind, members)
        SELECT NEW.list_id, kind, 1 FROM addresses WHERE id = NEW.address_id
        ON CONFLICT (list_id, kind) DO UPDATE SET members = members + 1;
    END
    """,
    """
    CREATE TRIGGER list_members_count_removed AFTER DELETE ON list_members BEGIN
        UPDATE list_counts SET members = members - 1
        WHERE list_id = OLD.list_id
          AND kind = (SELECT kind FROM addresses WHERE id = OLD.address_id);
    END
    """,
    """
    CREATE TRIGGER addresses_count_removed BEFORE DELETE ON addresses BEGIN
        UPDATE list_counts SET members = members - 1
        WHERE kind = OLD.kind
          AND list_id IN (SELECT list_id FROM list_members WHERE address_id = OLD.id);
    END
    """,
]

BACKFILL = """
    INSERT INTO list_counts (list_id, kind, members)
    SELECT m.list_id, a.kind, count(*)
    FROM list_members m JOIN addresses a ON a.id = m.address_id
    GROUP BY m.list_id, a.kind
"""


def upgrade() -> None:
    op.create_table(
        "list_counts",
        sa.Column("list_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["recipient_lists.id"],
            name=op.f("fk_list_counts_list_id_recipient_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "kind", name=op.f("pk_list_counts")),
    )
    op.create_index(
        "ix_addresses_suppressed",
        "addresses",
        ["id"],
        postgresql_where=sa.text(SUPPRESSED),
        sqlite_where=sa.text(SUPPRESSED),
    )
    op.execute(BACKFILL)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL if postgresql else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER list_members_count_truncated ON list_members")
        op.execute("DROP TRIGGER addresses_count_removed ON addresses")
        op.execute("DROP TRIGGER list_members_count_removed ON list_members")
        op.execute("DROP TRIGGER list_members_count_added ON list_members")
        for name in ("truncated", "removed", "added"):
            op.execute(f"DROP FUNCTION mailforge_count_members_{name}()")
        op.execute("DROP FUNCTION mailforge_count_address_removed()")
    else:
        for trigger in ("addresses_count_removed", "list_members_count_removed"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TRIGGER list_members_count_added")
    op.drop_index("ix_addresses_suppressed", table_name="addresses")
    op.drop_table("list_counts")
