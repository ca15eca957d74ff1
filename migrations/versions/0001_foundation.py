"""foundation: users, audit, areas, checkpoints, feeds, roads, passes

Revision ID: 0001
Revises: 
Create Date: 2026-11-25

Passes and the audit log are append-only: a trigger refuses UPDATE and DELETE on them
(retention drops whole day partitions, which is DDL, not DELETE).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=False),
    sa.Column('roles', postgresql.ARRAY(sa.String(length=32)), nullable=False),
    sa.Column('unit', sa.String(length=128), nullable=True),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('geometry', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('approximate', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('city', 'district', 'centre')", name=op.f('ck_area_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area')),
    sa.UniqueConstraint('code', name=op.f('uq_area_code'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=256), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
    op.create_index(op.f('ix_audit_log_actor_name'), 'audit_log', ['actor_name'], unique=False)
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_table('checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.Column('district_name', sa.String(length=32), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('road', sa.String(length=128), nullable=False),
    sa.Column('edge_id', sa.BigInteger(), nullable=True),
    sa.Column('directions', postgresql.ARRAY(sa.String(length=8)), nullable=False),
    sa.Column('bearing_in_deg', sa.Float(), nullable=True),
    sa.Column('lanes', sa.Integer(), nullable=False),
    sa.Column('defence_line', sa.String(length=8), nullable=False),
    sa.Column('retention_class', sa.Integer(), nullable=False),
    sa.Column('guards', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("defence_line IN ('city', 'county')", name=op.f('ck_checkpoint_defence_line')),
    sa.CheckConstraint('lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180', name=op.f('ck_checkpoint_lat_lon')),
    sa.CheckConstraint('retention_class IN (1, 2)', name=op.f('ck_checkpoint_retention_class')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint')),
    sa.UniqueConstraint('code', name=op.f('uq_checkpoint_code'))
    )
    op.create_index(op.f('ix_checkpoint_district'), 'checkpoint', ['district'], unique=False)
    op.create_table('road_edge',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.BigInteger(), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=False),
    sa.Column('highway', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('oneway', sa.Boolean(), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('coords', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_road_edge'))
    )
    op.create_index(op.f('ix_road_edge_source'), 'road_edge', ['source'], unique=False)
    op.create_index(op.f('ix_road_edge_target'), 'road_edge', ['target'], unique=False)
    op.create_table('feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('lane', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_feed_direction')),
    sa.CheckConstraint("kind IN ('rtsp', 'http', 'file', 'snapshot', 'smart')", name=op.f('ck_feed_kind')),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoint.id'], name=op.f('fk_feed_checkpoint_id_checkpoint'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed'))
    )
    op.create_index(op.f('ix_feed_checkpoint_id'), 'feed', ['checkpoint_id'], unique=False)
    op.create_table('pass',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('plate_colour', sa.String(length=16), nullable=False),
    sa.Column('plate_type', sa.String(length=32), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=True),
    sa.Column('lane', sa.Integer(), nullable=True),
    sa.Column('direction', sa.String(length=8), nullable=True),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('image_path', sa.Text(), nullable=True),
    sa.Column('plate_image_path', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoint.id'], name=op.f('fk_pass_checkpoint_id_checkpoint')),
    sa.PrimaryKeyConstraint('id', 'captured_at', name=op.f('pk_pass')),
    postgresql_partition_by='RANGE (captured_at)'
    )
    op.create_index('ix_pass_captured_at', 'pass', ['captured_at'], unique=False)
    op.create_index('ix_pass_checkpoint_captured_at', 'pass', ['checkpoint_id', 'captured_at'], unique=False)
    op.create_index('ix_pass_plate_captured_at', 'pass', ['plate', 'captured_at'], unique=False)
    op.execute(APPEND_ONLY_FUNCTION)
    for table in ("pass", "audit_log"):
        op.execute(
            f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION checkpoint_append_only()"
        )



def downgrade() -> None:
    for table in ("pass", "audit_log"):
        op.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}"')
    op.execute("DROP FUNCTION IF EXISTS checkpoint_append_only()")
    op.drop_index('ix_pass_plate_captured_at', table_name='pass')
    op.drop_index('ix_pass_checkpoint_captured_at', table_name='pass')
    op.drop_index('ix_pass_captured_at', table_name='pass')
    op.drop_table('pass')
    op.drop_index(op.f('ix_feed_checkpoint_id'), table_name='feed')
    op.drop_table('feed')
    op.drop_index(op.f('ix_road_edge_target'), table_name='road_edge')
    op.drop_index(op.f('ix_road_edge_source'), table_name='road_edge')
    op.drop_table('road_edge')
    op.drop_index(op.f('ix_checkpoint_district'), table_name='checkpoint')
    op.drop_table('checkpoint')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_actor_name'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('area')
    op.drop_table('app_user')

