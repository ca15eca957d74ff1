"""watchlist: the watch change log (a versioned row per change of what matchers enforce)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Approve, withdraw, expire (and the demo's plant) write a `watch_change` row in the entry's own
transaction; versions are assigned under an advisory lock (change_log.py), so they commit in order.
Matchers follow this log and compare their copy's version with max(version) before each batch; the
Redis index is a cache of it, stamped with the version it reflects. No rows are written here: the
log starts at version 0 with the active entries as they are, which the first rebuild loads: an index
left in Redis by an older release has no `checkpoint:watch:log-version` stamp, so the first matcher
rebuilds it (index.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_change",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("op IN ('add', 'remove')", name=op.f("ck_watch_change_op")),
        sa.ForeignKeyConstraint(["entry_id"], ["watch_entry.id"], name=op.f("fk_watch_change_entry_id_watch_entry")),
        sa.ForeignKeyConstraint(["changed_by"], ["app_user.id"], name=op.f("fk_watch_change_changed_by_app_user")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_watch_change")),
    )
    op.create_index(op.f("ix_watch_change_entry_id"), "watch_change", ["entry_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_watch_change_entry_id"), table_name="watch_change")
    op.drop_table("watch_change")
