"""List members no longer reference lists and addresses by foreign key; triggers keep
what the keys kept.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

Importing 1,000,000 recipients spent most of its time in the two foreign keys of
``list_members``: on PostgreSQL each is a trigger, an index probe and a row lock per row
(``FOR KEY SHARE``, which writes to every new address row), about 12 of the 21 s of the
members' INSERT measured on a loaded machine (issue 22). ``deliveries`` dropped its key to
``addresses`` for the same reason (migration 0002).

What the keys did is now done per statement, or per row where rows are few:

- A member of a missing address is refused: the statement trigger that keeps
  ``list_counts`` (migration 0023) joins the new members to ``addresses`` anyway, and
  raises ``foreign_key_violation`` when one has no address (SQLite: a row trigger).
- A member of a missing list is refused by ``list_counts``' own key to ``recipient_lists``
  (one check per list and kind a statement touches; an existing counter row is locked
  by the statement, and a list's deletion deletes that row first, so it waits for the
  statement's transaction). SQLite: a row trigger.
- Deleting a list deletes its counts and then its members, in a trigger that runs before
  the list's row goes; deleting an address (never done by the application, only by hand)
  deletes its memberships before its row goes, so the counts trigger still sees its kind.

SQLite rebuilds ``list_members`` to drop the keys, which drops its triggers (and refuses
to while a trigger elsewhere names the table): they are made again here (and a later migration that rebuilds the table must make them again too).

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST_FK = "fk_list_members_list_id_recipient_lists"
ADDRESS_FK = "fk_list_members_address_id_addresses"

# -- PostgreSQL ----------------------------------------------------------------------------
COUNT_ADDED = """
    CREATE OR REPLACE FUNCTION mailforge_count_members_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        missing bigint;
    BEGIN
        WITH counted AS (
            SELECT n.list_id, a.kind, count(*) AS members
            FROM added n LEFT JOIN addresses a ON a.id = n.address_id
            GROUP BY n.list_id, a.kind
        ), stored AS (
            INSERT INTO list_counts (list_id, kind, members)
            SELECT list_id, kind, members FROM counted WHERE kind IS NOT NULL
            ORDER BY list_id, kind
            ON CONFLICT (list_id, kind)
            DO UPDATE SET members = list_counts.members + EXCLUDED.members
        )
        SELECT coalesce(sum(members) FILTER (WHERE kind IS NULL), 0) INTO missing
        FROM counted;
        IF missing > 0 THEN
            RAISE EXCEPTION 'list_members: % member(s) of no address', missing
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END
    $$
"""
COUNT_ADDED_BEFORE = """
    CREATE OR REPLACE FUNCTION mailforge_count_members_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
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
"""
POSTGRESQL = [
    f"ALTER TABLE list_members DROP CONSTRAINT {LIST_FK}",
    f"ALTER TABLE list_members DROP CONSTRAINT {ADDRESS_FK}",
    COUNT_ADDED,
    """
    CREATE FUNCTION mailforge_list_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM list_counts WHERE list_id = OLD.id;
        DELETE FROM list_members WHERE list_id = OLD.id;
        RETURN OLD;
    END
    $$
    """,
    """
    CREATE TRIGGER recipient_lists_members_removed BEFORE DELETE ON recipient_lists
    FOR EACH ROW EXECUTE FUNCTION mailforge_list_removed()
    """,
    """
    CREATE OR REPLACE FUNCTION mailforge_count_address_removed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM list_members WHERE address_id = OLD.id;
        RETURN OLD;
    END
    $$
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER recipient_lists_members_removed ON recipient_lists",
    "DROP FUNCTION mailforge_list_removed()",
    COUNT_ADDED_BEFORE,
    """
    CREATE OR REPLACE FUNCTION mailforge_count_address_removed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE list_counts c SET members = c.members - 1
        FROM list_members m
        WHERE m.address_id = OLD.id AND c.list_id = m.list_id AND c.kind = OLD.kind;
        RETURN OLD;
    END
    $$
    """,
    "DELETE FROM list_members m WHERE NOT EXISTS"
    " (SELECT 1 FROM recipient_lists l WHERE l.id = m.list_id)"
    " OR NOT EXISTS (SELECT 1 FROM addresses a WHERE a.id = m.address_id)",
    f"""ALTER TABLE list_members ADD CONSTRAINT {LIST_FK} FOREIGN KEY (list_id)
    REFERENCES recipient_lists (id) ON DELETE CASCADE""",
    f"""ALTER TABLE list_members ADD CONSTRAINT {ADDRESS_FK} FOREIGN KEY (address_id)
    REFERENCES addresses (id) ON DELETE CASCADE""",
]

# -- SQLite --------------------------------------------------------------------------------
SQLITE_COUNTS = [  # migration 0023's, gone with the rebuilt table
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
]
SQLITE = [
    """
    CREATE TRIGGER list_members_references BEFORE INSERT ON list_members
    WHEN NOT EXISTS (SELECT 1 FROM addresses WHERE id = NEW.address_id)
      OR NOT EXISTS (SELECT 1 FROM recipient_lists WHERE id = NEW.list_id)
    BEGIN
        SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');
    END
    """,
    """
    CREATE TRIGGER recipient_lists_members_removed BEFORE DELETE ON recipient_lists BEGIN
        DELETE FROM list_members WHERE list_id = OLD.id;
    END
    """,
    """
    CREATE TRIGGER addresses_members_removed BEFORE DELETE ON addresses BEGIN
        DELETE FROM list_members WHERE address_id = OLD.id;
    END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER addresses_members_removed",
    "DROP TRIGGER recipient_lists_members_removed",
    "DROP TRIGGER list_members_references",
]
SQLITE_ADDRESS_COUNT = [  # migration 0023's
    """
    CREATE TRIGGER addresses_count_removed BEFORE DELETE ON addresses BEGIN
        UPDATE list_counts SET members = members - 1
        WHERE kind = OLD.kind
          AND list_id IN (SELECT list_id FROM list_members WHERE address_id = OLD.id);
    END
    """,
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)
        return
    # A trigger that names list_members keeps SQLite from renaming the rebuilt table.
    op.execute("DROP TRIGGER addresses_count_removed")
    with op.batch_alter_table("list_members") as batch:
        batch.drop_constraint(LIST_FK, type_="foreignkey")
        batch.drop_constraint(ADDRESS_FK, type_="foreignkey")
    for statement in SQLITE_COUNTS + SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DOWN:
            op.execute(statement)
        return
    for statement in SQLITE_DOWN:
        op.execute(statement)
    op.execute(
        "DELETE FROM list_members WHERE list_id NOT IN (SELECT id FROM recipient_lists)"
        " OR address_id NOT IN (SELECT id FROM addresses)"
    )
    with op.batch_alter_table("list_members") as batch:
        batch.create_foreign_key(
            LIST_FK, "recipient_lists", ["list_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            ADDRESS_FK, "addresses", ["address_id"], ["id"], ondelete="CASCADE"
        )
    for statement in SQLITE_COUNTS + SQLITE_ADDRESS_COUNT:
        op.execute(statement)
