"""capture: snapshot devices (device.kind) and feed state changes kept in PostgreSQL

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-26

Existing devices are smart cameras (kind 'smart'). feed_state_change receives every
online/offline change that capture appends to `checkpoint:feed_events`; the unique key makes
copying a redelivered change a no-op.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("device", sa.Column("kind", sa.String(length=16), server_default="smart", nullable=False))
    op.create_check_constraint(op.f("ck_device_kind"), "device", "kind IN ('smart', 'snapshot')")
    op.create_table(
        "feed_state_change",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["feed.id"], name=op.f("fk_feed_state_change_feed_id_feed"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_state_change")),
        sa.UniqueConstraint("feed_id", "changed_at", "state", name=op.f("uq_feed_state_change_feed_id")),
    )


def downgrade() -> None:
    op.drop_table("feed_state_change")
    op.drop_constraint(op.f("ck_device_kind"), "device", type_="check")
    op.drop_column("device", "kind")
