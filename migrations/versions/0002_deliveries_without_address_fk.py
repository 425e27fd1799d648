"""Deliveries no longer reference addresses by foreign key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

A launch snapshots a whole list into ``deliveries`` in one ``INSERT … SELECT``; on
PostgreSQL the foreign key to ``addresses`` cost a trigger, an index probe and a row lock
(``FOR KEY SHARE``, which writes to every address row) per recipient: a third of a
million-recipient snapshot. Nothing ever deletes an address (unsubscribes and refusals
only stamp it), so the reference cannot dangle. ``deliveries.run_id`` keeps its foreign
key with ``ON DELETE CASCADE``: deleting a run still removes its deliveries.

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_deliveries_address_id_addresses"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.create_foreign_key(FK, "addresses", ["address_id"], ["id"], ondelete="CASCADE")
