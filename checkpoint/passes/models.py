"""Pass: one vehicle seen at one checkpoint at one instant. Append-only, partitioned by day."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow

PLATE_MAX_CHARS = 16  # the longest normalised plate a pass holds: ingest refuses longer ones (never 202 then lost)


class Pass(Base):
    """Partitioned by RANGE(captured_at), one partition a day, so retention drops whole days."""

    __tablename__ = "pass"
    __table_args__ = (
        Index("ix_pass_captured_at", "captured_at"),
        # Covering indexes (migrations 0005/0006): a plate's passes in time order, and a checkpoint's
        # passes in a window, answered from the index alone (trajectories, clones, companions).
        Index("ix_pass_plate_captured_at_cover", "plate", "captured_at",
              postgresql_include=["checkpoint_id", "plate_colour", "plate_type"]),
        Index("ix_pass_checkpoint_captured_at_plate", "checkpoint_id", "captured_at", postgresql_include=["plate"]),
        {"postgresql_partition_by": "RANGE (captured_at)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the pass id: idempotent writes
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    plate: Mapped[str] = mapped_column(String(PLATE_MAX_CHARS))
    plate_colour: Mapped[str] = mapped_column(String(16), default="unknown")
    plate_type: Mapped[str] = mapped_column(String(32), default="unknown")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    checkpoint_id: Mapped[int] = mapped_column(Integer)  # no foreign key: see migration 0011 (the writer checks it)
    feed_id: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[int | None] = mapped_column(Integer)  # the pushing camera, in smart-camera mode
    lane: Mapped[int | None] = mapped_column(Integer)
    direction: Mapped[str | None] = mapped_column(String(8))
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    image_path: Mapped[str | None] = mapped_column(Text)
    plate_image_path: Mapped[str | None] = mapped_column(Text)
    vehicle_colour: Mapped[str | None] = mapped_column(String(16))  # passes/vehicle.py vocabularies
    vehicle_type: Mapped[str | None] = mapped_column(String(16))
    vehicle_brand: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
