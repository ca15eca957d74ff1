"""Reference data every domain uses: areas, checkpoints, their feeds, and the road graph."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow


class Area(Base):
    """The city, a district (county), or a centre area; its polygon is GeoJSON in WGS-84."""

    __tablename__ = "area"
    __table_args__ = (CheckConstraint("kind IN ('city', 'district', 'centre')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    district: Mapped[str | None] = mapped_column(String(32))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONB)
    approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")


class Checkpoint(Base):
    """A road checkpoint (卡口): one site on a road, with its lanes and covered directions."""

    __tablename__ = "checkpoint"
    __table_args__ = (
        CheckConstraint("defence_line IN ('city', 'county')", name="defence_line"),
        CheckConstraint("retention_class IN (1, 2)", name="retention_class"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="lat_lon"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district: Mapped[str] = mapped_column(String(32), index=True)
    district_name: Mapped[str] = mapped_column(String(32))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    road: Mapped[str] = mapped_column(String(128), default="")
    edge_id: Mapped[int | None] = mapped_column(BigInteger)
    directions: Mapped[list[str]] = mapped_column(ARRAY(String(8)))
    bearing_in_deg: Mapped[float | None] = mapped_column(Float)
    lanes: Mapped[int] = mapped_column(Integer, default=2)
    defence_line: Mapped[str] = mapped_column(String(8))
    retention_class: Mapped[int] = mapped_column(Integer, default=1)
    guards: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Feed(Base):
    """One camera source at a checkpoint lane; capture (a later layer) runs it."""

    __tablename__ = "feed"
    __table_args__ = (
        CheckConstraint("kind IN ('rtsp', 'http', 'file', 'snapshot', 'smart')", name="kind"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint("rtsp_transport IN ('tcp', 'udp')", name="rtsp_transport"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoint.id", ondelete="CASCADE"), index=True)
    lane: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text, default="")  # URL or file path; empty for pushing cameras
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    rtsp_transport: Mapped[str | None] = mapped_column(String(8))  # None: the site's CAPTURE__RTSP_TRANSPORT
    name: Mapped[str] = mapped_column(String(128), default="", server_default="")


class RoadEdge(Base):
    """One junction-to-junction road segment of the active road graph."""

    __tablename__ = "road_edge"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[int] = mapped_column(BigInteger, index=True)
    target: Mapped[int] = mapped_column(BigInteger, index=True)
    highway: Mapped[str] = mapped_column(String(32), default="")
    name: Mapped[str] = mapped_column(String(128), default="")
    oneway: Mapped[bool] = mapped_column(Boolean, default=False)
    length_m: Mapped[float] = mapped_column(Float)
    coords: Mapped[list[list[float]]] = mapped_column(JSONB)  # [[lon, lat], ...]
