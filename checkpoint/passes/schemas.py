"""What the passes API answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class PassPublic(BaseModel):
    id: uuid.UUID
    captured_at: datetime
    plate: str
    plate_colour: str
    plate_type: str
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_name: str
    lane: int | None
    direction: str | None
    speed_kmh: float | None
    lat: float
    lon: float
    has_scene: bool
    has_plate: bool
    received_at: datetime


class PassHit(BaseModel):
    """One pass found by 过车查询: the checkpoint by code and name, the vehicle where known."""

    id: uuid.UUID
    captured_at: datetime
    plate: str
    plate_colour: str
    plate_type: str
    checkpoint_code: str
    checkpoint_name: str
    district_name: str
    lane: int | None
    direction: str | None
    speed_kmh: float | None
    vehicle_colour: str | None
    vehicle_type: str | None
    vehicle_brand: str | None
    has_scene: bool
    has_plate: bool


class PassSearchPage(BaseModel):
    total: int  # exact when total_exact; else at least this many
    total_exact: bool
    page: int
    page_size: int
    plates: list[str] | None  # the plates a plate pattern matched in the window (None: no plate asked)
    items: list[PassHit]
