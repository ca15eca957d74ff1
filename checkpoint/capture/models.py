"""Device: a pushing camera (a smart one with its own plate reads, a snapshot one sending JPEGs, or a
GA/T 1400 camera or lower platform speaking the 视图库 interface, capture/viid).

FeedStateChange: every online/offline change of a video feed, kept in PostgreSQL so that online
and intact rates over any window survive the loss of Redis. DeviceStateChange is the same for
pushing devices (capture/device_health.py), and DeviceOutage one silence of a device or feed
longer than the site allows, with whether admins were told of its start and end.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow


class Device(Base):
    """One pushing camera at a checkpoint; it authenticates with its own API key (stored as sha256).

    kind `smart` pushes pass records it read itself; kind `snapshot` pushes JPEGs that our LPR reads;
    kind `gat1400` registers and pushes MotorVehicle objects over GA/T 1400 with HTTP Digest: its code
    is its 20-digit DeviceID, `tollgate_id` the TollgateID it reports, and `digest_ha1` the RFC 7616
    MD5 of username:realm:password (the password itself is never kept).
    """

    __tablename__ = "device"
    __table_args__ = (CheckConstraint("direction IN ('in', 'out')", name="direction"),
                      CheckConstraint("kind IN ('smart', 'snapshot', 'gat1400')", name="kind"))

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
    tollgate_id: Mapped[str | None] = mapped_column(String(20), index=True)
    digest_username: Mapped[str | None] = mapped_column(String(64))
    digest_ha1: Mapped[str | None] = mapped_column(String(32))


class FeedStateChange(Base):
    """A video feed went online, offline, failed, ...: copied from capture's Redis stream after the fact."""

    __tablename__ = "feed_state_change"
    __table_args__ = (UniqueConstraint("feed_id", "changed_at", "state"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    error: Mapped[str] = mapped_column(Text, default="")


class DeviceStateChange(Base):
    """A pushing device went online or offline (its pushes, keepalives or registration; device_health.py)."""

    __tablename__ = "device_state_change"
    __table_args__ = (UniqueConstraint("device_id", "changed_at", "state"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    error: Mapped[str] = mapped_column(Text, default="")


class DeviceOutage(Base):
    """One silence longer than the site allows, of a device or a video feed; open while ended_at is None.

    `started_notified` and `ended_notified` say whether the webhook took the news, so a restart
    tells it what it had not been told, once.
    """

    __tablename__ = "device_outage"
    __table_args__ = (CheckConstraint("(device_id IS NULL) <> (feed_id IS NULL)", name="one_subject"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_notified: Mapped[bool] = mapped_column(Boolean, default=False)
