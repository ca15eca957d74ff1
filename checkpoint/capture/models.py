"""Device: a smart checkpoint camera that reads plates itself and pushes pass records to us."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow


class Device(Base):
    """One pushing camera at a checkpoint; it authenticates with its own API key (stored as sha256)."""

    __tablename__ = "device"
    __table_args__ = (CheckConstraint("direction IN ('in', 'out')", name="direction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)  # the device id it sends (GA/T 1400 SBBH)
    name: Mapped[str] = mapped_column(String(128), default="")
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoint.id", ondelete="CASCADE"), index=True)
    lanes: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)  # empty: any lane of the checkpoint
    direction: Mapped[str | None] = mapped_column(String(8))  # None: the record says
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of a 32-byte random key
    key_prefix: Mapped[str] = mapped_column(String(12))  # first characters of the key, to tell keys apart
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
