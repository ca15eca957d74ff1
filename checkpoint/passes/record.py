"""The pass record and its one stream codec: every producer and consumer of a pass goes through here.

CapturedPass is what capture appends to `checkpoint:reads` for one vehicle at one checkpoint;
PassEvent is what the passes writer appends to `checkpoint:passes` once the pass is stored. The
pass id is made where the vehicle is seen, so every later step is idempotent on it. passes/ owns
this format: capture builds records through it, the writer checks and stores them, and the
consumers (watchlist, trajectory, coverage) decode events with it.

On the streams a pass travels as ONE field, `captured.v2`, whose value is a record: the values in
RECORD_FIELDS order joined by tabs, None as an empty string, and a backslash, tab, newline or
carriage return inside a value written as PostgreSQL's COPY text format writes it (`\\\\`, `\\t`,
`\\n`, `\\r`). Any value travels, unchanged; and the record's first 17 values are the pass row in
COPY text format (`NULL ''`), so the writer stores it by adding the position and receive time to
each line (passes/store.py) instead of parsing ~20 fields a pass. A PassEvent is one field,
`event.v2`: the record with the checkpoint's latitude and longitude appended, tab-separated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache

from checkpoint.core.bus import Fields

CAPTURED_KEY = "captured.v2"  # the one stream field of a packed CapturedPass; the key names the format
EVENT_KEY = "event.v2"  # the one stream field of a packed PassEvent
# v1 (before 2026-12-08) had no vehicle attributes: entries still on a stream at an upgrade are read
# by inserting three empty values before `source` (record_of, event_of).
CAPTURED_KEY_V1 = "captured.v1"
EVENT_KEY_V1 = "event.v1"
_EVENT_KEYS_BYTES = (EVENT_KEY.encode(), EVENT_KEY_V1.encode())
RECORD_FIELDS = ("plate", "pass_id", "captured_at", "checkpoint_id", "plate_colour", "plate_type", "confidence",
                 "feed_id", "device_id", "lane", "direction", "speed_kmh", "image_path", "plate_image_path",
                 "vehicle_colour", "vehicle_type", "vehicle_brand", "source")
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
    # The vehicle itself (passes/vehicle.py vocabularies): from GA/T 1400 cameras' own values or our
    # own vehicle model; None where nobody described it.
    vehicle_colour: str | None = None
    vehicle_type: str | None = None
    vehicle_brand: str | None = None
    source: str = "camera"  # camera (our LPR on video), snapshot (our LPR on a pushed JPEG), smart, test
    pass_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def to_fields(self) -> Fields:
        """The stream entry: one field, the packed record (every producer writes through this)."""
        return {CAPTURED_KEY: self.to_record()}

    def to_record(self) -> str:
        """The values in RECORD_FIELDS order, tab-separated, escaped only where a value needs it."""
        texts: tuple[str, ...] = (self.plate, self.plate_colour, self.plate_type, self.direction or "",
                                  self.image_path or "", self.plate_image_path or "", self.vehicle_colour or "",
                                  self.vehicle_type or "", self.vehicle_brand or "", self.source)
        joined = "".join(texts)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            texts = tuple(text.translate(_ESCAPES) for text in texts)
        plate, colour, plate_type, direction, image, plate_image, v_colour, v_type, v_brand, source = texts
        return "\t".join((
            plate, str(self.pass_id), self.captured_at.isoformat(), str(self.checkpoint_id), colour, plate_type,
            str(self.confidence), _opt(self.feed_id), _opt(self.device_id), _opt(self.lane), direction,
            _opt(self.speed_kmh), image, plate_image, v_colour, v_type, v_brand, source,
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
         direction, speed_kmh, image, plate_image, v_colour, v_type, v_brand, source) = values
        return cls(
            pass_id=uuid.UUID(pass_id), checkpoint_id=int(checkpoint_id), plate=plate,
            captured_at=datetime.fromisoformat(captured_at), plate_colour=colour, plate_type=plate_type,
            confidence=float(confidence), feed_id=int(feed_id) if feed_id else None,
            device_id=int(device_id) if device_id else None, lane=int(lane) if lane else None,
            direction=direction or None, speed_kmh=float(speed_kmh) if speed_kmh else None,
            image_path=image or None, plate_image_path=plate_image or None, vehicle_colour=v_colour or None,
            vehicle_type=v_type or None, vehicle_brand=v_brand or None, source=source,
        )

    @classmethod
    def from_fields(cls, fields: Fields) -> CapturedPass:
        """The pass of a `checkpoint:reads` entry; KeyError if it is not one."""
        return cls.from_record(record_of(fields))


def _v1_to_v2(record: str) -> str:
    """A v1 record (no vehicle attributes) as v2: three empty values before `source`."""
    head, _, source = record.rpartition("\t")
    return f"{head}\t\t\t\t{source}"


def record_of(fields: Fields) -> str:
    """The packed record of a `checkpoint:reads` entry, v1 entries upgraded; KeyError if it is not one."""
    record = fields.get(CAPTURED_KEY)
    if record is not None:
        return record
    if CAPTURED_KEY_V1 not in fields:
        raise KeyError(CAPTURED_KEY)
    return _v1_to_v2(fields[CAPTURED_KEY_V1])


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


# --- checks the writer needs before COPY -----------------------------------------------------------


@lru_cache(maxsize=64)
def _day(text: str) -> date:
    return date.fromisoformat(text)


def utc_day(captured_at: str) -> date:
    """The UTC day of a captured_at as to_record writes it (UTC, so usually just its date)."""
    if captured_at.endswith("+00:00"):
        return _day(captured_at[:10])
    parsed = datetime.fromisoformat(captured_at)
    if parsed.tzinfo is None:
        raise ValueError(f"captured_at {captured_at!r} has no UTC offset")
    return parsed.astimezone(UTC).date()


def checked(record: str) -> tuple[int, date]:
    """The checkpoint id and UTC day of a packed record, after the checks the COPY framing needs.

    A record must have its 18 values and no raw newline (either would shift the COPY's columns or
    rows), and a backslash only in the escapes to_record() writes; PostgreSQL checks the rest.
    """
    plate, pass_id, captured_at, checkpoint_id, _ = record.split("\t", 4)
    if record.count("\t") != RECORD_TABS or "\n" in record or "\r" in record:
        raise MalformedRecord(f"a {CAPTURED_KEY} record needs {RECORD_TABS + 1} values and no newline")
    if not pass_id or not plate:
        raise ValueError("pass_id and plate must not be empty")
    if "\\" in record:
        CapturedPass.from_record(record)  # refuses an escape it does not write: COPY would read it otherwise
    return int(checkpoint_id), utc_day(captured_at)


# --- PassEvent: a stored pass on `checkpoint:passes` ----------------------------------------------


@dataclass(frozen=True)
class PassEvent:
    """The captured pass plus where it was (the checkpoint's position at the time)."""

    captured: CapturedPass
    lat: float
    lon: float

    @property
    def pass_id(self) -> str:
        return str(self.captured.pass_id)

    def to_fields(self) -> Fields:
        return {EVENT_KEY: event_record(self.captured.to_record(), repr(self.lat), repr(self.lon))}

    @classmethod
    def from_fields(cls, fields: Fields) -> PassEvent:
        """The event of a `checkpoint:passes` entry; KeyError if it is not one."""
        if EVENT_KEY in fields:
            record, lat, lon = split_event(fields[EVENT_KEY])
        else:
            record, lat, lon = split_event(fields[EVENT_KEY_V1])
            record = _v1_to_v2(record)
        return cls(captured=CapturedPass.from_record(record), lat=float(lat), lon=float(lon))


def event_record(captured_record: str, lat: str, lon: str) -> str:
    """The `event.v2` value: what the writer appends for each stored pass."""
    return f"{captured_record}\t{lat}\t{lon}"


def split_event(value: str) -> tuple[str, str, str]:
    """The captured record, latitude and longitude of an `event.v2` value."""
    parts = value.rsplit("\t", 2)
    if len(parts) != 3:
        raise MalformedRecord(f"an {EVENT_KEY} value without its position")
    return parts[0], parts[1], parts[2]


def plate_of_raw_event(fields: dict[bytes, bytes]) -> str:
    """The plate of a `checkpoint:passes` entry read as bytes, without decoding the rest (the matcher
    needs only the plate of most passes); KeyError or ValueError if the entry is not an event."""
    value = fields.get(_EVENT_KEYS_BYTES[0]) or fields[_EVENT_KEYS_BYTES[1]]
    plate = value[:value.index(b"\t")]
    if b"\\" in plate:  # an escaped value (never a normalized plate): its first value, unescaped
        return unescape(plate.decode())
    return plate.decode()
