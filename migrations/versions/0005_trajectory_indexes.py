"""trajectory: covering indexes for month-wide analyses on the pass table

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-25

Companions, frequent passing and area collisions probe (checkpoint_id, captured_at) and need
only the plate; clone detection walks each plate's passes in time order and needs only the
checkpoint, colour and type. With these columns INCLUDEd the scans are index-only: no heap
page is read, which is what made them slow on a month of passes (see docs/BENCHMARKS.md).
The indexes are created on the partitioned parent, so every day partition gets them.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_pass_checkpoint_captured_at_plate", "pass", ["checkpoint_id", "captured_at"],
                    postgresql_include=["plate"])
    op.create_index("ix_pass_plate_captured_at_cover", "pass", ["plate", "captured_at"],
                    postgresql_include=["checkpoint_id", "plate_colour", "plate_type"])


def downgrade() -> None:
    op.drop_index("ix_pass_plate_captured_at_cover", table_name="pass")
    op.drop_index("ix_pass_checkpoint_captured_at_plate", table_name="pass")
