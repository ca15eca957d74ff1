"""CapturedPass: what capture appends to `checkpoint:reads` for one vehicle at one checkpoint.

The pass id is made where the vehicle is seen, so every later step is idempotent on it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime

from checkpoint.core.bus import Fields


@dataclass(frozen=True)
class CapturedPass:
    checkpoint_id: int
    plate: str
    captured_at: datetime  # timezone-aware UTC
    plate_colour: str = "unknown"  # blue, yellow, green, white, black, unknown
    plate_type: str = "unknown"
    confidence: float = 0.0
    feed_id: int | None = None
    device_id: int | None = None  # the pushing device (smart-camera mode)
    lane: int | None = None
    direction: str | None = None  # "in" | "out"
    speed_kmh: float | None = None
    image_path: str | None = None  # relative to the data directory
    plate_image_path: str | None = None
    source: str = "camera"  # camera (our LPR on video), snapshot (our LPR on a pushed JPEG), smart, test
    pass_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def to_fields(self) -> Fields:
        out: Fields = {}
        for key in _FIELD_NAMES:  # not asdict(): it deep-copies, and this runs once per pass
            value = getattr(self, key)
            if value is None:
                continue
            out[key] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out

    @classmethod
    def from_fields(cls, fields: Fields) -> CapturedPass:
        def opt_int(key: str) -> int | None:
            return int(fields[key]) if fields.get(key) not in (None, "") else None

        def opt_float(key: str) -> float | None:
            return float(fields[key]) if fields.get(key) not in (None, "") else None

        return cls(
            pass_id=uuid.UUID(fields["pass_id"]),
            checkpoint_id=int(fields["checkpoint_id"]),
            plate=fields["plate"],
            captured_at=datetime.fromisoformat(fields["captured_at"]),
            plate_colour=fields.get("plate_colour", "unknown"),
            plate_type=fields.get("plate_type", "unknown"),
            confidence=float(fields.get("confidence", 0.0)),
            feed_id=opt_int("feed_id"),
            device_id=opt_int("device_id"),
            lane=opt_int("lane"),
            direction=fields.get("direction") or None,
            speed_kmh=opt_float("speed_kmh"),
            image_path=fields.get("image_path") or None,
            plate_image_path=fields.get("plate_image_path") or None,
            source=fields.get("source", "camera"),
        )


_FIELD_NAMES = tuple(item.name for item in fields(CapturedPass))
