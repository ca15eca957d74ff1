"""watchlist: an alert follows its vehicle (last checkpoint, position, images) and lists every watch it hit

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-08

Dispatchers saw a repeat raise the count but not where the car was last seen, and one pass matching
two watches made two cards. The alert now keeps the checkpoints' code and name as they were at the
hit, the last pass's position and images, and `watches` (every watch the vehicle matched, the most
urgent first); repeats are grouped per plate, hence the (plate, last_seen_at) index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("hit_alert", sa.Column("watches", postgresql.JSONB(), nullable=False, server_default="[]"))
    op.add_column("hit_alert", sa.Column("checkpoint_code", sa.String(32), nullable=False, server_default=""))
    op.add_column("hit_alert", sa.Column("checkpoint_name", sa.String(128), nullable=False, server_default=""))
    op.add_column("hit_alert", sa.Column("last_checkpoint_code", sa.String(32), nullable=False, server_default=""))
    op.add_column("hit_alert", sa.Column("last_checkpoint_name", sa.String(128), nullable=False, server_default=""))
    op.add_column("hit_alert", sa.Column("last_lat", sa.Float(), nullable=True))
    op.add_column("hit_alert", sa.Column("last_lon", sa.Float(), nullable=True))
    op.add_column("hit_alert", sa.Column("last_image_path", sa.Text(), nullable=True))
    op.add_column("hit_alert", sa.Column("last_plate_image_path", sa.Text(), nullable=True))
    op.create_index("ix_hit_alert_plate_last_seen", "hit_alert", ["plate", "last_seen_at"])
    op.execute("""
        UPDATE hit_alert a SET
            checkpoint_code = COALESCE((SELECT code FROM checkpoint WHERE id = a.checkpoint_id), ''),
            checkpoint_name = COALESCE((SELECT name FROM checkpoint WHERE id = a.checkpoint_id), ''),
            last_checkpoint_code = COALESCE((SELECT code FROM checkpoint WHERE id = a.last_checkpoint_id), ''),
            last_checkpoint_name = COALESCE((SELECT name FROM checkpoint WHERE id = a.last_checkpoint_id), ''),
            last_lat = COALESCE((SELECT lat FROM checkpoint WHERE id = a.last_checkpoint_id), a.lat),
            last_lon = COALESCE((SELECT lon FROM checkpoint WHERE id = a.last_checkpoint_id), a.lon),
            watches = (SELECT jsonb_build_array(jsonb_build_object(
                'entry_id', w.id, 'pattern', w.pattern, 'match_mode', w.match_mode, 'category', w.category,
                'priority', w.priority, 'why', a.why)) FROM watch_entry w WHERE w.id = a.entry_id)
    """)


def downgrade() -> None:
    op.drop_index("ix_hit_alert_plate_last_seen", table_name="hit_alert")
    for column in ("last_plate_image_path", "last_image_path", "last_lon", "last_lat", "last_checkpoint_name",
                   "last_checkpoint_code", "checkpoint_name", "checkpoint_code", "watches"):
        op.drop_column("hit_alert", column)
