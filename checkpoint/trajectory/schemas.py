"""Pydantic shapes of trajectories and analysis results, as the API and the console see them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class TrajectoryPass(BaseModel):
    id: uuid.UUID
    captured_at: datetime
    plate: str
    plate_colour: str
    plate_type: str
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_name: str
    direction: str | None
    lon: float
    lat: float
    image_path: str | None
    plate_image_path: str | None


class Leg(BaseModel):
    """The road between two consecutive passes of one trip."""

    from_index: int  # index of the pass in the trip
    to_index: int
    start_at: datetime
    end_at: datetime
    distance_m: float
    duration_s: float
    speed_kmh: float | None  # None when both passes have the same instant
    on_road: bool  # False: no road path was found, the leg is a straight line
    coordinates: list[tuple[float, float]]  # (lon, lat)


class Trip(BaseModel):
    index: int
    start_at: datetime
    end_at: datetime
    distance_m: float
    passes: list[TrajectoryPass]
    legs: list[Leg]


class Trajectory(BaseModel):
    plate: str
    plates: list[str]  # the plates that matched (one for an exact search)
    start: datetime
    end: datetime
    gap_min: float
    pass_count: int
    truncated: bool  # more passes than the limit: narrow the time range
    trips: list[Trip]


class Reasoned(BaseModel):
    """Every search states why it is made; the reason goes to the audit log."""

    reason: str = Field(min_length=4, max_length=500)
