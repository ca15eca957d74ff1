"""passes: drop the foreign key pass.checkpoint_id -> checkpoint.id

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26

The key made every COPY of the passes writer check each row against `checkpoint`: COPY into
`pass` ran at 0.75 of the same COPY into a table with its columns and indexes but no key, 0.97
without it (docs/BENCHMARKS.md, writer). It protected nothing the writer does not: the writer
loads each checkpoint's position before it stores a pass and dead-letters a pass of an unknown
checkpoint, and checkpoints are never deleted (they are deactivated).
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("fk_pass_checkpoint_id_checkpoint", "pass", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key("fk_pass_checkpoint_id_checkpoint", "pass", "checkpoint", ["checkpoint_id"], ["id"])
