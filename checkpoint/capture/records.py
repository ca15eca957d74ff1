"""CapturedPass: what capture appends to `checkpoint:reads` for one vehicle at one checkpoint.

The pass id is made where the vehicle is seen, so every later step is idempotent on it.

On the streams a pass travels as ONE field, `captured.v1`, whose value is a record: the values in
RECORD_FIELDS order joined by tabs, None as an empty string, and a backslash, tab, newline or
carriage return inside a value written as PostgreSQL's COPY text format writes it (`\\\\`, `\\t`,
`\\n`, `\\r`). Any value travels, unchanged; and the record's first 14 values are the pass row in
COPY text format (`NULL ''`), so the writer stores it by adding the position and receive time to
each line (passes/store.py) instead of parsing ~20 fields a pass. Entries written as one field
per attribute (before 2026-11-26) are still read: `from_fields` tells them by the missing key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from checkpoint.core.bus import Fields

CAPTURED_KEY = "captured.v1"  # the one stream field of a packed CapturedPass; the key names the format
RECORD_FIELDS = ("plate", "pass_id", "captured_at", "checkpoint_id", "plate_colour", "plate_type", "confidence",
                 "feed_id", "device_id", "lane", "direction", "speed_kmh", "image_path", "plate_image_path",
                 "source")
RECORD_TABS = len(RECORD_FIELDS) - 1
STORED_VALUES = RECORD_FIELDS.index("source")  # the values before `source` are pass table columns
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


class MalformedRecord(ValueError):
    """A packed record that to_record() cannot have written (wrong count of values, unknown escape)."""


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
        """The stream entry: one field, the packed record (every producer writes through this)."""
        return {CAPTURED_KEY: self.to_record()}

    def to_record(self) -> str:
        """The values in RECORD_FIELDS order, tab-separated, escaped only where a value needs it."""
        texts: tuple[str, ...] = (self.plate, self.plate_colour, self.plate_type, self.direction or "",
                                  self.image_path or "", self.plate_image_path or "", self.source)
        joined = "".join(texts)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            texts = tuple(text.translate(_ESCAPES) for text in texts)
        plate, colour, plate_type, direction, image, plate_image, source = texts
        return "\t".join((
            plate, str(self.pass_id), self.captured_at.isoformat(), str(self.checkpoint_id), colour, plate_type,
            str(self.confidence), _opt(self.feed_id), _opt(self.device_id), _opt(self.lane), direction,
            _opt(self.speed_kmh), image, plate_image, source,
        ))

    @classmethod
    def from_record(cls, record: str) -> CapturedPass:
        """Parse a record written by to_record(); raises ValueError (MalformedRecord) for anything else."""
        values = record.split("\t")
        if len(values) != len(RECORD_FIELDS):
            raise MalformedRecord(f"{len(values)} values in a {CAPTURED_KEY} record, {len(RECORD_FIELDS)} expected")
        if "\\" in record:
            values = [unescape(value) for value in values]
        (plate, pass_id, captured_at, checkpoint_id, colour, plate_type, confidence, feed_id, device_id, lane,
         direction, speed_kmh, image, plate_image, source) = values
        return cls(
            pass_id=uuid.UUID(pass_id), checkpoint_id=int(checkpoint_id), plate=plate,
            captured_at=datetime.fromisoformat(captured_at), plate_colour=colour, plate_type=plate_type,
            confidence=float(confidence), feed_id=int(feed_id) if feed_id else None,
            device_id=int(device_id) if device_id else None, lane=int(lane) if lane else None,
            direction=direction or None, speed_kmh=float(speed_kmh) if speed_kmh else None,
            image_path=image or None, plate_image_path=plate_image or None, source=source,
        )

    @classmethod
    def from_fields(cls, fields: Fields) -> CapturedPass:
        """The pass of a `checkpoint:reads` entry, packed or (written before the packed format) one field each."""
        record = fields.get(CAPTURED_KEY)
        if record is not None:
            return cls.from_record(record)
        return cls.from_legacy_fields(fields)

    @classmethod
    def from_legacy_fields(cls, fields: Fields) -> CapturedPass:
        """An entry of the old format: one stream field per attribute, None values left out."""
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


def _opt(value: float | int | None) -> str:
    return "" if value is None else str(value)  # str, not repr: numpy's repr is "np.float64(...)"


def unescape(value: str) -> str:
    """A value as to_record() escaped it, restored; an escape it never writes is refused."""
    if "\\" not in value:
        return value
    out: list[str] = []
    at = 0
    while (slash := value.find("\\", at)) >= 0:
        code = value[slash + 1:slash + 2]
        if code not in _UNESCAPES:
            raise MalformedRecord(f"unknown escape {value[slash:slash + 2]!r} in a {CAPTURED_KEY} record")
        out += (value[at:slash], _UNESCAPES[code])
        at = slash + 2
    out.append(value[at:])
    return "".join(out)
