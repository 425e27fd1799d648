"""A writer of many members may keep ``list_counts`` itself: the count trigger then skips.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

The count trigger of ``list_members`` (migrations 0023, 0024, 0026) joins every new member
to ``addresses`` to learn its kind: for an import of 1,000,000 members a hash join that
reads the whole ``addresses`` table, however big it is, on top of the insert (issue 22).
The importer already knows how many members of each kind it adds (its staging table has
the kind), so it sets ``mailforge.members_counted`` to ``on`` for its transaction
(``SET LOCAL``), adds to ``list_counts`` itself in one statement, and the trigger's
``WHEN`` leaves such statements alone. Every other writer is counted as before. The
trigger's refusal of a member of no address is the importer's to keep then: it adds only
addresses it found or inserted in the same transaction. SQLite's row triggers are not
concerned (the setting does not exist there).

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# current_setting(…, true): NULL when never set, '' once a SET LOCAL of it has ended.
NOT_COUNTED_BY_WRITER = (
    "WHEN (current_setting('mailforge.members_counted', true) IS DISTINCT FROM 'on')"
)


def _trigger(when: str) -> str:
    return f"""
    CREATE TRIGGER list_members_count_added AFTER INSERT ON list_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT {when}
    EXECUTE FUNCTION mailforge_count_members_added()
    """


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER list_members_count_added ON list_members")
        op.execute(_trigger(NOT_COUNTED_BY_WRITER))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER list_members_count_added ON list_members")
        op.execute(_trigger(""))
