"""watchlist: the alerts outbox (alert_event) and alerts whose images are still to be kept

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A matcher committed its hits marked pushed and then appended them to `checkpoint:alerts`: killed
between the two, the alert was never published. Now the hit and an `alert_event` row are written in
one transaction and a relay publishes the rows (`event_id`: the SSE id, dense, in publication order).
`watch_hit.pushed` is kept (no longer read). `hit_alert.images_pending` holds the pass images an alert
could not keep yet (alerts folder unwritable), retried until kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("hit_alert", sa.Column("images_pending", postgresql.JSONB(), nullable=True))
    op.create_table(
        "alert_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["hit_alert.id"], name=op.f("fk_alert_event_alert_id_hit_alert")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_alert_event_event_id")),
    )
    op.create_index(op.f("ix_alert_event_alert_id"), "alert_event", ["alert_id"])
    op.create_index("ix_alert_event_unpublished", "alert_event", ["id"],
                    postgresql_where=sa.text("published_at IS NULL"))


def downgrade() -> None:
    op.drop_table("alert_event")
    op.drop_column("hit_alert", "images_pending")
