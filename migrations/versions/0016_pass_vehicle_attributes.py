"""passes: the vehicle itself on each pass (colour, type, brand)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08

GA/T 1400 cameras send VehicleColor, VehicleClass and VehicleBrand with each MotorVehicle, and
our own vehicle model describes the vehicle around the plate; 过车查询, watches and 套牌 read them.
Nullable columns with no default: adding them to the partitioned table rewrites nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pass", sa.Column("vehicle_colour", sa.String(16), nullable=True))
    op.add_column("pass", sa.Column("vehicle_type", sa.String(16), nullable=True))
    op.add_column("pass", sa.Column("vehicle_brand", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("pass", "vehicle_brand")
    op.drop_column("pass", "vehicle_type")
    op.drop_column("pass", "vehicle_colour")
