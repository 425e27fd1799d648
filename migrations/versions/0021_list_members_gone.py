"""Members gone from a list's source: ``list_members.gone_at``.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

"Update from source" (a re-import from the list's link, Sendsay list or file) adds and
updates; the members it did not find are marked here in the import's transaction, and
the manager may remove them with one press (``lists.remove_gone``). Any later import that
finds a member again clears its mark. NULL: in the source (or never compared with it).

Self-contained on purpose (no imports from the application).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("list_members") as batch:
        batch.add_column(sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("list_members") as batch:
        batch.drop_column("gone_at")
