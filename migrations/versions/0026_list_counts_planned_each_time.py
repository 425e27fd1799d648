"""The member count triggers plan their statements for each statement's own rows.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

PL/pgSQL keeps the plan of a statement without parameters for the whole session, made
the first time it runs. So the count triggers of migrations 0023-0024 kept the plan of
the first insert or delete on a connection: after a one-member addition, an import of a
million members on the same pooled connection joined them to ``addresses`` by a million
index probes; after an import, each one-member addition hashed every address. Run with
``EXECUTE``, the statements are planned every time for the transition table's real size
(checked with auto_explain: a nested loop for 1 row, a merge join for 10,000, a hash
join for 500,000, in one session). SQLite's row triggers are not concerned.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNT_ADDED = """
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
    SELECT coalesce(sum(members) FILTER (WHERE kind IS NULL), 0) {into} FROM counted
"""
COUNT_REMOVED = """
    UPDATE list_counts c SET members = c.members - r.members
    FROM (
        SELECT o.list_id, a.kind, count(*) AS members
        FROM removed o JOIN addresses a ON a.id = o.address_id
        GROUP BY o.list_id, a.kind ORDER BY o.list_id, a.kind
    ) r
    WHERE c.list_id = r.list_id AND c.kind = r.kind
"""


def _added(run: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION mailforge_count_members_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        missing bigint;
    BEGIN
        {run};
        IF missing > 0 THEN
            RAISE EXCEPTION 'list_members: % member(s) of no address', missing
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """


def _removed(run: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION mailforge_count_members_removed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        {run};
        RETURN NULL;
    END
    $$
    """


def _executed(sql: str) -> str:
    return f"EXECUTE $sql${sql}$sql$"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_added(_executed(COUNT_ADDED.format(into="")) + " INTO missing"))
        op.execute(_removed(_executed(COUNT_REMOVED)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_added(COUNT_ADDED.format(into="INTO missing")))
        op.execute(_removed(COUNT_REMOVED))
