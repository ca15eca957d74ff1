"""capture and passes: pushing devices, pass speed and device, retention deletes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The pass table stays append-only (UPDATE always refused), but the retention job may DELETE
expired rows of short-retention checkpoints: it sets `SET LOCAL checkpoint.retention = 'on'`
in its own transaction, and the trigger lets DELETE through only then. The audit log is
unchanged: its trigger refuses UPDATE and DELETE as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PASS_RETENTION_FUNCTION = """
CREATE OR REPLACE FUNCTION checkpoint_pass_retention_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('checkpoint.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'table % is append-only: % refused (only the retention job may delete)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("lanes", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("api_key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_device_direction")),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoint.id"], name=op.f("fk_device_checkpoint_id_checkpoint"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("code", name=op.f("uq_device_code")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_device_api_key_hash")),
    )
    op.create_index(op.f("ix_device_checkpoint_id"), "device", ["checkpoint_id"], unique=False)
    op.add_column("pass", sa.Column("device_id", sa.Integer(), nullable=True))
    op.add_column("pass", sa.Column("speed_kmh", sa.Float(), nullable=True))
    op.execute(PASS_RETENTION_FUNCTION)
    op.execute('DROP TRIGGER IF EXISTS pass_append_only ON "pass"')
    op.execute('CREATE TRIGGER pass_append_only BEFORE UPDATE OR DELETE ON "pass" '
               "FOR EACH ROW EXECUTE FUNCTION checkpoint_pass_retention_only()")


def downgrade() -> None:
    op.execute('DROP TRIGGER IF EXISTS pass_append_only ON "pass"')
    op.execute('CREATE TRIGGER pass_append_only BEFORE UPDATE OR DELETE ON "pass" '
               "FOR EACH ROW EXECUTE FUNCTION checkpoint_append_only()")
    op.execute("DROP FUNCTION IF EXISTS checkpoint_pass_retention_only()")
    op.drop_column("pass", "speed_kmh")
    op.drop_column("pass", "device_id")
    op.drop_index(op.f("ix_device_checkpoint_id"), table_name="device")
    op.drop_table("device")
