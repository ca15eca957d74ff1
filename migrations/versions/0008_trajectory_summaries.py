"""trajectory: per-day summaries of closed days for clones, night-active and frequent passing

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-26

Month-wide analyses read every pass of the month (21-22 s at 11.5 M rows). These tables hold
what those scans compute, per closed local day, so a query reads them for summarised days
and the pass table only for the rest of its window. See checkpoint/trajectory/summaries.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trajectory_summary_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("passes", sa.BigInteger(), nullable=False),
        sa.Column("roads", sa.Text(), nullable=False),
        sa.Column("summarised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_frequent", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "trajectory_plate_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("plate", sa.String(16), primary_key=True),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("early_passes", sa.Integer(), nullable=False),
        sa.Column("early_night", sa.Integer(), nullable=False),
        sa.Column("late_night", sa.Integer(), nullable=False),
    )
    op.create_index("ix_trajectory_plate_day_plate", "trajectory_plate_day", ["plate", "day"],
                    postgresql_include=["passes", "early_passes", "early_night", "late_night"])
    op.create_index("ix_trajectory_plate_day_night", "trajectory_plate_day", ["day", "plate"],
                    postgresql_include=["passes", "early_passes", "early_night", "late_night"],
                    postgresql_where=sa.text("early_night > 0 OR late_night > 0"))
    op.create_table(
        "trajectory_clone_pair",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("prev_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_cp", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("needed_s", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("too_fast", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_trajectory_clone_pair_day", "trajectory_clone_pair", ["day"])
    op.create_table(
        "trajectory_frequent_pair",
        sa.Column("plate", sa.String(16), primary_key=True),
        sa.Column("checkpoint_id", sa.Integer(), primary_key=True),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("cum", postgresql.ARRAY(sa.Integer()), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trajectory_frequent_pair")
    op.drop_table("trajectory_clone_pair")
    op.drop_table("trajectory_plate_day")
    op.drop_table("trajectory_summary_day")
