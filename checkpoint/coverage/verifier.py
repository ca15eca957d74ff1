"""Live verification: did ≥ 2 checkpoints of an area's ring capture each vehicle crossing its boundary?

A vehicle's sightings at one ring, in one direction, within `window_s` of each other form one
crossing. When it closes, the distinct checkpoints are counted. A single capture is explained
with the static analysis: if a crossing route through that checkpoint has fewer than 2 captures,
the vehicle most likely took that leak route; if every route through it has ≥ 2, the other
checkpoints on those routes missed the read. A crossing no checkpoint saw is invisible here;
the static leak routes are the account of those.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from checkpoint.coverage.analysis import CrossingRoute, crossing_routes, ring_of
from checkpoint.coverage.model import REQUIRED_CAPTURES, Direction, ProtectedArea, RingCheckpoint, RoadNetwork

Verdict = Literal["double", "leak route", "missed read"]
DEFAULT_WINDOW_S = 600.0


@dataclass(frozen=True)
class Sighting:
    plate: str
    code: str  # the checkpoint
    seen_at: datetime
    direction: str | None = None  # "in"/"out" as the feed films it; None if unknown


@dataclass(frozen=True)
class Crossing:
    plate: str
    area: str
    direction: Direction
    first_at: datetime
    checkpoints: tuple[str, ...]
    verdict: Verdict
    missed: tuple[str, ...] = ()  # for a missed read: the checkpoints that should also have seen it

    @property
    def double(self) -> bool:
        return self.verdict == "double"


class RingIndex:
    """What the static analysis knows about each ring checkpoint: its area and the routes through it."""

    def __init__(self, network: RoadNetwork, areas: Sequence[ProtectedArea], checkpoints: Sequence[RingCheckpoint],
                 offline: frozenset[str] = frozenset()) -> None:
        self.checkpoints = {c.code: c for c in checkpoints}
        self.routes: dict[tuple[str, Direction], list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
        self.area_leaks: dict[tuple[str, Direction], int] = defaultdict(int)
        self.arc_direction: dict[tuple[str, int], Direction] = {}
        self.edge_index = network.edge_index
        for area in areas:
            ring = ring_of(network, area.code, checkpoints, offline)
            for route in crossing_routes(network, area, ring):
                if not route.passing:
                    self.arc_direction[(area.code, route.arc)] = route.direction
                codes = self._codes(ring, route)
                for code in codes:
                    self.routes[(code, route.direction)].append((route.captures, codes))
                if route.captures < REQUIRED_CAPTURES:
                    self.area_leaks[(area.code, route.direction)] += 1

    @staticmethod
    def _codes(ring: dict[int, list[str]], route: CrossingRoute) -> tuple[str, ...]:
        return tuple(sorted({code for arc in route.arcs for code in ring.get(arc, ())}))

    def direction_of(self, sighting: Sighting) -> Direction:
        """In or out of the area: from the road's geometry on a crossing road, else as the feed labels it."""
        checkpoint = self.checkpoints[sighting.code]
        if sighting.direction in ("in", "out"):
            forward = (sighting.direction == "in") == checkpoint.forward_inward
            arc = 2 * self.edge_index[checkpoint.edge_id] + (0 if forward else 1)
            return self.arc_direction.get((checkpoint.area, arc), "in" if sighting.direction == "in" else "out")
        only_out = checkpoint.forward != checkpoint.backward and checkpoint.forward != checkpoint.forward_inward
        return "out" if only_out else "in"

    def explain(self, area: str, direction: Direction, seen: Sequence[str]) -> tuple[Verdict, tuple[str, ...]]:
        """Double, or for a single capture the likelier cause and whom it concerns."""
        if len(set(seen)) >= REQUIRED_CAPTURES:
            return "double", ()
        through = self.routes.get((seen[0], direction), [])
        if any(captures < REQUIRED_CAPTURES for captures, _ in through):
            return "leak route", ()
        if through:
            missed = sorted({code for _, codes in through for code in codes} - set(seen))
            return "missed read", tuple(missed)
        # an inner checkpoint: the crossing itself went unseen, by a leak if the area has any
        return ("leak route" if self.area_leaks.get((area, direction)) else "missed read"), ()


@dataclass
class _Open:
    first_at: datetime
    last_at: datetime
    codes: list[str] = field(default_factory=list)


class CrossingVerifier:
    """Follows each vehicle's recent sightings and closes a crossing after `window_s` of quiet."""

    def __init__(self, index: RingIndex, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.index = index
        self.window_s = window_s
        self.open: dict[tuple[str, str, Direction], _Open] = {}

    def observe(self, sighting: Sighting) -> list[Crossing]:
        """Add a sighting; return the crossings it closes (an earlier one of the same vehicle, ring, way)."""
        checkpoint = self.index.checkpoints.get(sighting.code)
        if checkpoint is None:
            return []  # not a ring checkpoint of a protected area
        key = (sighting.plate, checkpoint.area, self.index.direction_of(sighting))
        closed: list[Crossing] = []
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

    def flush(self, now: datetime | None = None) -> list[Crossing]:
        """Close crossings quiet for longer than the window (all of them if `now` is None)."""
        done = [key for key, item in self.open.items()
                if now is None or (now - item.last_at).total_seconds() > self.window_s]
        return [self._close(key, self.open.pop(key)) for key in done]

    def _close(self, key: tuple[str, str, Direction], item: _Open) -> Crossing:
        plate, area, direction = key
        verdict, missed = self.index.explain(area, direction, item.codes)
        return Crossing(plate=plate, area=area, direction=direction, first_at=item.first_at,
                        checkpoints=tuple(item.codes), verdict=verdict, missed=missed)


@dataclass
class ShareTally:
    """Crossings and double-captured crossings per (area, hour) and per (checkpoint, hour), and verdicts."""

    by_area: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_checkpoint: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    verdicts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, crossing: Crossing) -> None:
        hour = crossing.first_at.strftime("%Y-%m-%dT%H")
        for counts in [self.by_area[(crossing.area, hour)], *(self.by_checkpoint[(c, hour)]
                                                               for c in crossing.checkpoints)]:
            counts[0] += 1
            counts[1] += int(crossing.double)
        self.verdicts[crossing.verdict] += 1

    def share(self, area: str) -> float | None:
        total = sum(c[0] for (a, _), c in self.by_area.items() if a == area)
        return None if not total else sum(c[1] for (a, _), c in self.by_area.items() if a == area) / total
