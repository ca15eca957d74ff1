"""Result shapes of the analyses; each answer carries the full count and the first `limit` items."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class PassRef(BaseModel):
    """One pass as evidence: where, when, what was read, and its images."""

    id: uuid.UUID
    captured_at: datetime
    checkpoint_id: int
    checkpoint_code: str
    plate_colour: str
    plate_type: str
    image_path: str | None
    plate_image_path: str | None


class CloneSuspect(BaseModel):
    plate: str
    kind: str  # "impossible-travel" or "different-vehicle"
    first: PassRef
    second: PassRef
    distance_m: float
    duration_s: float
    needed_s: float | None  # least travel time the road allows at the speed limit used


class Companion(BaseModel):
    plate: str
    times: int  # target passes it accompanied
    checkpoints: int  # distinct checkpoints where it did
    rate: float  # 伴随率: times / target_passes
    target_passes: int  # the target's passes in the window
    first_at: datetime
    last_at: datetime


class FirstEntry(BaseModel):
    plate: str
    first_at: datetime
    passes: int


class NightActive(BaseModel):
    plate: str
    passes: int
    night_passes: int
    night_share: float
    night_days: int


class RestingPlace(BaseModel):
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_name: str
    lon: float
    lat: float
    times: int  # rests: a trip ended here and the next one started again from here
    rest_hours: float
    last_at: datetime


class CollisionPlate(BaseModel):
    plate: str
    passes: list[int]  # passes in each (area, window) pair, in the order asked


class FrequentPlate(BaseModel):
    plate: str
    checkpoint_id: int
    checkpoint_code: str
    passes: int
    first_at: datetime
    last_at: datetime


class Found(BaseModel, Generic[T]):
    """`total` results matched; `items` holds the first `limit` of them, strongest first."""

    total: int
    items: list[T]
