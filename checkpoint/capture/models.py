"""Device: a pushing camera (a smart one with its own plate reads, or a snapshot one sending JPEGs).

FeedStateChange: every online/offline change of a video feed, kept in PostgreSQL so that online
and intact rates over any window survive the loss of Redis.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow


class Device(Base):
    """One pushing camera at a checkpoint; it authenticates with its own API key (stored as sha256).

    kind `smart` pushes pass records it read itself; kind `snapshot` pushes JPEGs that our LPR reads.
    """

    __tablename__ = "device"
    __table_args__ = (CheckConstraint("direction IN ('in', 'out')", name="direction"),
                      CheckConstraint("kind IN ('smart', 'snapshot')", name="kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)  # the device id it sends (GA/T 1400 SBBH)
    name: Mapped[str] = mapped_column(String(128), default="")
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoint.id", ondelete="CASCADE"), index=True)
    lanes: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)  # empty: any lane of the checkpoint
    direction: Mapped[str | None] = mapped_column(String(8))  # None: the record says
    kind: Mapped[str] = mapped_column(String(16), default="smart", server_default="smart")
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of a 32-byte random key
    key_prefix: Mapped[str] = mapped_column(String(12))  # first characters of the key, to tell keys apart
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FeedStateChange(Base):
    """A video feed went online, offline, failed, ...: copied from capture's Redis stream after the fact."""

    __tablename__ = "feed_state_change"
    __table_args__ = (UniqueConstraint("feed_id", "changed_at", "state"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    error: Mapped[str] = mapped_column(Text, default="")
