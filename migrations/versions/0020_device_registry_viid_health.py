"""capture: GA/T 1400 devices, per-feed RTSP transport, device health history and outages

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-08

A GA/T 1400 camera or lower platform is a device of kind 'gat1400' with the TollgateID it reports
and the RFC 7616 MD5 hash of its digest password. Pushing devices get the state history video
feeds have had since 0009 (online rates over any window), and outages of either are kept with
whether the webhook was told. Nullable or defaulted columns: nothing is rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_device_kind"), "device", type_="check")
    op.create_check_constraint(op.f("ck_device_kind"), "device", "kind IN ('smart', 'snapshot', 'gat1400')")
    op.add_column("device", sa.Column("tollgate_id", sa.String(20), nullable=True))
    op.add_column("device", sa.Column("digest_username", sa.String(64), nullable=True))
    op.add_column("device", sa.Column("digest_ha1", sa.String(32), nullable=True))
    op.create_index(op.f("ix_device_tollgate_id"), "device", ["tollgate_id"])
    op.add_column("feed", sa.Column("rtsp_transport", sa.String(8), nullable=True))
    op.add_column("feed", sa.Column("name", sa.String(128), server_default="", nullable=False))
    op.create_check_constraint(op.f("ck_feed_rtsp_transport"), "feed", "rtsp_transport IN ('tcp', 'udp')")
    op.create_table(
        "device_state_change",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_device_state_change_device_id_device"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_state_change")),
        sa.UniqueConstraint("device_id", "changed_at", "state", name=op.f("uq_device_state_change_device_id")),
    )
    op.create_table(
        "device_outage",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_notified", sa.Boolean(), nullable=False),
        sa.Column("ended_notified", sa.Boolean(), nullable=False),
        sa.CheckConstraint("(device_id IS NULL) <> (feed_id IS NULL)", name=op.f("ck_device_outage_one_subject")),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_device_outage_device_id_device"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["feed_id"], ["feed.id"], name=op.f("fk_device_outage_feed_id_feed"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_outage")),
    )
    op.create_index(op.f("ix_device_outage_device_id"), "device_outage", ["device_id"])
    op.create_index(op.f("ix_device_outage_feed_id"), "device_outage", ["feed_id"])


def downgrade() -> None:
    op.drop_table("device_outage")
    op.drop_table("device_state_change")
    op.drop_constraint(op.f("ck_feed_rtsp_transport"), "feed", type_="check")
    op.drop_column("feed", "name")
    op.drop_column("feed", "rtsp_transport")
    op.drop_index(op.f("ix_device_tollgate_id"), "device")
    op.drop_column("device", "digest_ha1")
    op.drop_column("device", "digest_username")
    op.drop_column("device", "tollgate_id")
    op.drop_constraint(op.f("ck_device_kind"), "device", type_="check")
    op.create_check_constraint(op.f("ck_device_kind"), "device", "kind IN ('smart', 'snapshot')")
