"""The live check under the same reading as the static one: per protected area, the share of vehicles
seen by ≥ 2 of the checkpoints that count for it.

Under "jurisdiction" a county's checkpoint counts for its county centre and for the city centre, so one
sighting may belong to several areas. A vehicle's sightings at an area's counting checkpoints, in one
direction as the feed labels it, within `window_s` of each other, form one crossing of that area; when
it closes, its distinct checkpoints are counted. Shares go to Redis hashes per area and hour, beside the
ring verifier's own keys, and the console shows them next to the static result of the same reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis import Redis

from checkpoint.coverage.model import REQUIRED_CAPTURES
from checkpoint.coverage.planner import RuleSetup
from checkpoint.coverage.rule import counts_for
from checkpoint.coverage.verifier import DEFAULT_WINDOW_S, Sighting

READING_AREA_KEY = "checkpoint:coverage:reading:area:{code}"  # hash: "<hour>" crossings, "<hour>:double"


@dataclass(frozen=True)
class AreaCrossing:
    plate: str
    area: str
    first_at: datetime
    checkpoints: tuple[str, ...]

    @property
    def double(self) -> bool:
        return len(set(self.checkpoints)) >= REQUIRED_CAPTURES


@dataclass
class _Open:
    first_at: datetime
    last_at: datetime
    codes: list[str] = field(default_factory=list)


class ReadingTally:
    """Follows each vehicle per area of the reading and closes a crossing after `window_s` of quiet."""

    def __init__(self, setup: RuleSetup, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.window_s = window_s
        self.areas = [a.code for a in setup.areas]
        self.counts_for: dict[str, list[str]] = {}
        for site in setup.sites:
            self.counts_for[site.code] = [a.code for a in setup.areas if counts_for(site, a)]
        self.open: dict[tuple[str, str, str], _Open] = {}

    def observe(self, sighting: Sighting) -> list[AreaCrossing]:
        closed: list[AreaCrossing] = []
        for area in self.counts_for.get(sighting.code, ()):
            key = (sighting.plate, area, sighting.direction or "")
            current = self.open.get(key)
            if current is not None and (sighting.seen_at - current.last_at).total_seconds() > self.window_s:
                closed.append(self._close(key, self.open.pop(key)))
                current = None
            if current is None:
                current = self.open[key] = _Open(sighting.seen_at, sighting.seen_at)
            current.last_at = max(current.last_at, sighting.seen_at)
            if sighting.code not in current.codes:
                current.codes.append(sighting.code)
        return closed

    def flush(self, now: datetime | None = None) -> list[AreaCrossing]:
        done = [key for key, item in self.open.items()
                if now is None or (now - item.last_at).total_seconds() > self.window_s]
        return [self._close(key, self.open.pop(key)) for key in done]

    @staticmethod
    def _close(key: tuple[str, str, str], item: _Open) -> AreaCrossing:
        return AreaCrossing(plate=key[0], area=key[1], first_at=item.first_at, checkpoints=tuple(item.codes))


def record_areas(bus: Redis, crossings: Sequence[AreaCrossing]) -> None:
    if not crossings:
        return
    pipe = bus.pipeline(transaction=False)
    for crossing in crossings:
        hour = crossing.first_at.strftime("%Y-%m-%dT%H")
        key = READING_AREA_KEY.format(code=crossing.area)
        pipe.hincrby(key, hour, 1)
        pipe.hincrby(key, f"{hour}:double", int(crossing.double))
    pipe.execute()


def reading_live(bus: Redis, static: dict[str, Any]) -> dict[str, Any]:
    """Per area of the static result (its reading): the static least captures beside the live share."""
    rows = []
    for area in static["areas"]:
        raw: Any = bus.hgetall(READING_AREA_KEY.format(code=area["code"]))
        crossings = sum(int(v) for k, v in raw.items() if not k.endswith(":double"))
        double = sum(int(v) for k, v in raw.items() if k.endswith(":double"))
        rows.append({"code": area["code"], "name": area["name"], "static_holds": area["holds"],
                     "min_captures_in": area["min_captures_in"], "min_captures_out": area["min_captures_out"],
                     "crossings": crossings, "double": double,
                     "share": round(double / crossings, 4) if crossings else None})
    return {"reading": static["reading"], "areas": rows}
