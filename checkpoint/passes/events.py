"""PassEvent: a stored pass, appended to `checkpoint:passes` after the PostgreSQL commit.

Watchlist, trajectory and coverage consume it through their own consumer groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from checkpoint.capture.records import CapturedPass
from checkpoint.core.bus import Fields


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
        return {**self.captured.to_fields(), "lat": repr(self.lat), "lon": repr(self.lon)}

    @classmethod
    def from_fields(cls, fields: Fields) -> PassEvent:
        return cls(captured=CapturedPass.from_fields(fields), lat=float(fields["lat"]), lon=float(fields["lon"]))
