"""trajectory: bring databases migrated by the first versions of 0008 and 0012 to the fresh schema

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

0008 and 0012 were edited after they landed, so a database that ran their first versions lacks
what the later versions add, and Alembic, seeing the revisions applied, never adds it:

- `trajectory_plate_day.first_at` (0008, 7276af9): NOT NULL, so rows written without it cannot
  keep their place; they are forgotten with their days' summary rows, and the hourly job
  summarises those days again (until then they are read raw, as 0012 does for `last_at`);
- the INCLUDE columns of `ix_trajectory_plate_day_plate` (0008, 3bfbabe): rebuilt with them;
- `trajectory_plate_day.last_at` (0012, 0ef22e1): added, and the summarised days forgotten, as
  the later 0012 does.

Each step inspects the catalog first: on a database migrated by the current files it does nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COVERED = ["passes", "early_passes", "early_night", "late_night"]


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("trajectory_plate_day")}
    if "first_at" not in columns:
        op.execute("DELETE FROM trajectory_summary_day")
        op.execute("DELETE FROM trajectory_plate_day")
        op.add_column("trajectory_plate_day", sa.Column("first_at", sa.DateTime(timezone=True), nullable=False))
    if "last_at" not in columns:
        op.execute("DELETE FROM trajectory_summary_day")
        op.add_column("trajectory_plate_day", sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
    included = bind.execute(sa.text(
        "SELECT i.indnatts - i.indnkeyatts FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname = 'ix_trajectory_plate_day_plate' AND c.relnamespace = 'public'::regnamespace"
    )).scalar()
    if included != len(COVERED):
        op.execute("DROP INDEX IF EXISTS ix_trajectory_plate_day_plate")
        op.create_index("ix_trajectory_plate_day_plate", "trajectory_plate_day", ["plate", "day"],
                        postgresql_include=COVERED)


def downgrade() -> None:
    """Nothing to undo: the schema it leaves is the one 0008 and 0012 now make."""
