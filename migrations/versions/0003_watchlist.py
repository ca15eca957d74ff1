"""watchlist: watch entries, hit alerts, (pass, watch) hits, dispatcher scopes

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pattern", sa.String(length=16), nullable=False),
        sa.Column("match_mode", sa.String(length=8), nullable=False),
        sa.Column("strictness", sa.String(length=8), nullable=False),
        sa.Column("plate_colour", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_districts", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("scope_checkpoint_ids", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("withdrawn_by", sa.Integer(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("match_mode IN ('exact', 'wildcard', 'fuzzy')", name=op.f("ck_watch_entry_match_mode")),
        sa.CheckConstraint("scope_kind IN ('network', 'districts', 'checkpoints')",
                           name=op.f("ck_watch_entry_scope_kind")),
        sa.CheckConstraint("priority BETWEEN 1 AND 3", name=op.f("ck_watch_entry_priority")),
        sa.CheckConstraint("valid_to > valid_from", name=op.f("ck_watch_entry_validity")),
        sa.ForeignKeyConstraint(["requested_by"], ["app_user.id"], name=op.f("fk_watch_entry_requested_by_app_user")),
        sa.ForeignKeyConstraint(["approved_by"], ["app_user.id"], name=op.f("fk_watch_entry_approved_by_app_user")),
        sa.ForeignKeyConstraint(["withdrawn_by"], ["app_user.id"], name=op.f("fk_watch_entry_withdrawn_by_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_entry")),
    )
    op.create_index(op.f("ix_watch_entry_pattern"), "watch_entry", ["pattern"])
    op.create_index(op.f("ix_watch_entry_status"), "watch_entry", ["status"])
    op.create_table(
        "hit_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("pass_id", sa.Uuid(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_pass_id", sa.Uuid(), nullable=False),
        sa.Column("last_checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("why", sa.String(length=128), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("image_path", sa.Text(), nullable=True),
        sa.Column("plate_image_path", sa.Text(), nullable=True),
        sa.Column("predicted", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sign_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("signed_unit", sa.String(length=128), nullable=True),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("instructed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("feedback_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["entry_id"], ["watch_entry.id"], name=op.f("fk_hit_alert_entry_id_watch_entry")),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoint.id"],
                                name=op.f("fk_hit_alert_checkpoint_id_checkpoint")),
        sa.ForeignKeyConstraint(["signed_by"], ["app_user.id"], name=op.f("fk_hit_alert_signed_by_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hit_alert")),
    )
    op.create_index(op.f("ix_hit_alert_entry_id"), "hit_alert", ["entry_id"])
    op.create_index(op.f("ix_hit_alert_district"), "hit_alert", ["district"])
    op.create_index(op.f("ix_hit_alert_status"), "hit_alert", ["status"])
    op.create_index("ix_hit_alert_entry_plate_last_seen", "hit_alert", ["entry_id", "plate", "last_seen_at"])
    op.create_table(
        "watch_hit",
        sa.Column("pass_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pushed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["watch_entry.id"], name=op.f("fk_watch_hit_entry_id_watch_entry")),
        sa.ForeignKeyConstraint(["alert_id"], ["hit_alert.id"], name=op.f("fk_watch_hit_alert_id_hit_alert")),
        sa.PrimaryKeyConstraint("pass_id", "entry_id", name=op.f("pk_watch_hit")),
    )
    op.create_index(op.f("ix_watch_hit_alert_id"), "watch_hit", ["alert_id"])
    op.create_table(
        "dispatcher_scope",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("whole_network", sa.Boolean(), nullable=False),
        sa.Column("districts", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("checkpoint_ids", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_dispatcher_scope_user_id_app_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_dispatcher_scope")),
    )


def downgrade() -> None:
    op.drop_table("dispatcher_scope")
    op.drop_table("watch_hit")
    op.drop_table("hit_alert")
    op.drop_table("watch_entry")
