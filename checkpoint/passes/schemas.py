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
