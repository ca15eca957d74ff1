"""PassEvent: a stored pass, appended to `checkpoint:passes` after the PostgreSQL commit.

Watchlist, trajectory and coverage consume it through their own consumer groups. It travels as
one field, `event.v1`: the captured pass's packed record (capture/records.py) with the
checkpoint's latitude and longitude appended, tab-separated, so the writer makes it by string
concatenation. Events written one field per attribute (before 2026-11-26) are still read.
"""

from __future__ import annotations

from dataclasses import dataclass

from checkpoint.capture.records import CapturedPass, MalformedRecord
from checkpoint.core.bus import Fields

EVENT_KEY = "event.v1"  # the one stream field of a packed PassEvent


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
        """The event of a `checkpoint:passes` entry, packed or (older) one field per attribute."""
        value = fields.get(EVENT_KEY)
        if value is None:
            return cls(captured=CapturedPass.from_legacy_fields(fields), lat=float(fields["lat"]),
                       lon=float(fields["lon"]))
        record, lat, lon = split_event(value)
        return cls(captured=CapturedPass.from_record(record), lat=float(lat), lon=float(lon))


def event_record(captured_record: str, lat: str, lon: str) -> str:
    """The `event.v1` value: what the writer appends for each stored pass."""
    return f"{captured_record}\t{lat}\t{lon}"


def split_event(value: str) -> tuple[str, str, str]:
    """The captured record, latitude and longitude of an `event.v1` value."""
    parts = value.rsplit("\t", 2)
    if len(parts) != 3:
        raise MalformedRecord(f"an {EVENT_KEY} value without its position")
    return parts[0], parts[1], parts[2]
