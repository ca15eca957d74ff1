"""Merge the domain branches; drop the two pass indexes the covering ones of 0005 make redundant.

(plate, captured_at) and (checkpoint_id, captured_at) are the leading columns of
ix_pass_plate_captured_at_cover and ix_pass_checkpoint_captured_at_plate: every lookup the
plain indexes served, the covering ones serve too, and each index less is less work per
written pass.

Revision ID: 0006
Revises: 0002, 0003, 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = ("0002", "0003", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_pass_plate_captured_at", table_name="pass")
    op.drop_index("ix_pass_checkpoint_captured_at", table_name="pass")


def downgrade() -> None:
    op.create_index("ix_pass_checkpoint_captured_at", "pass", ["checkpoint_id", "captured_at"])
    op.create_index("ix_pass_plate_captured_at", "pass", ["plate", "captured_at"])
