"""trajectory: today's closed hours summarised too (a partial day), with its (plate, checkpoint) counts

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26

A live "last 30 days" ends today: with whole days only, up to 24 h of today's passes were read
raw by each analysis (5-10 s at 2 M passes a day). The hourly job now also summarises today up to
its last closed hour: `covered_until` says where such a partial day's summary ends (NULL: the whole
day), and `trajectory_frequent_partial` holds that part's per-(plate, checkpoint) counts, since the
cumulative counts of `trajectory_frequent_pair` are rebuilt for whole days only.

`trajectory_plate_day.last_at` (the day's last pass, beside its first) lets first entry use a day
that its window or lookback cuts in two. Rows summarised before have none: their days are
forgotten here, so they are read raw until the job summarises them again (its next round).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("trajectory_summary_day", sa.Column("covered_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("trajectory_plate_day", sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("DELETE FROM trajectory_summary_day")
    op.create_table(
        "trajectory_frequent_partial",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("plate", sa.String(16), primary_key=True),
        sa.Column("checkpoint_id", sa.Integer(), primary_key=True),
        sa.Column("passes", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trajectory_frequent_partial")
    op.drop_column("trajectory_plate_day", "last_at")
    op.drop_column("trajectory_summary_day", "covered_until")
