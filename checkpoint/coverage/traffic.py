"""Generated traffic over the road graph, to validate the live verifier against the static analysis.

Each trip crosses one protected area's boundary by a chosen crossing arc: in, it drives from a
junction outside along roads outside the area and stops at the first junction inside; out, the
mirror image. That is the static analysis's route (a vehicle may stop at any junction), so with
perfect reads the live count of a crossing must equal the static captures of its arc. Before (or
after) its crossing arc the trip takes no arc a checkpoint films, so a checkpoint standing further
out on the way in cannot add a sighting the ring's static count does not know; on its way the trip
may cross other rings, and every ring checkpoint on its arcs sees it (with `read_rate`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from checkpoint.coverage.analysis import crossing_routes, ring_of
from checkpoint.coverage.build import CoverageModel
from checkpoint.coverage.model import Direction, ProtectedArea
from checkpoint.coverage.verifier import Sighting

SPEED_MPS = 40 / 3.6


@dataclass(frozen=True)
class TrueCrossing:
    plate: str
    area: str
    direction: Direction
    edge_id: int
    static_captures: int  # the ring's captures on that crossing arc, per the static analysis


@dataclass(frozen=True)
class Traffic:
    sightings: list[Sighting]
    crossings: list[TrueCrossing]  # one per trip and protected area it crosses exactly once each way


def _outside_path(model: CoverageModel, area: ProtectedArea, start: int, hops: int, forward: bool,
                  rng: random.Random, avoid: frozenset[int] = frozenset()) -> list[int]:
    """A random walk of up to `hops` arcs that never enters the area nor takes an arc in `avoid`."""
    leaving, arriving = model.network.adjacency()
    arcs: list[int] = []
    node, seen = start, {start}
    for _ in range(hops):
        options = []
        for arc in (arriving if forward else leaving).get(node, ()):
            tail, head = model.network.arc_ends(arc)
            other = tail if forward else head
            if other not in area.inside and other not in seen and arc not in avoid:
                options.append((arc, other))
        if not options:
            break
        arc, node = rng.choice(options)
        seen.add(node)
        arcs.append(arc)
    return arcs[::-1] if forward else arcs


def _crossings_on(model: CoverageModel, plate: str, arcs: Sequence[int],
                  static: dict[tuple[str, int], int]) -> list[TrueCrossing]:
    found: list[TrueCrossing] = []
    for area in model.areas:
        for arc in arcs:
            tail, head = model.network.arc_ends(arc)
            if (tail in area.inside) != (head in area.inside):
                direction: Direction = "in" if head in area.inside else "out"
                found.append(TrueCrossing(plate, area.code, direction, model.network.edge_of(arc),
                                          static[(area.code, arc)]))
    return found


def generate(model: CoverageModel, trips: int, seed: int = 7, read_rate: float = 1.0,
             start_at: datetime | None = None, offline: frozenset[str] = frozenset()) -> Traffic:
    """`trips` vehicles, each crossing a random area by a random crossing arc, minutes apart."""
    rng = random.Random(seed)
    clock = start_at or datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    static: dict[tuple[str, int], int] = {}
    choices: list[tuple[ProtectedArea, int, Direction]] = []
    for area in model.areas:
        for route in crossing_routes(model.network, area, ring_of(model.network, area.code, model.checkpoints,
                                                                  offline)):
            if not route.passing:
                static[(area.code, route.arc)] = route.captures
                choices.append((area, route.arc, route.direction))
    by_arc: dict[int, list[tuple[str, float, str]]] = {}
    for checkpoint in model.checkpoints:
        if checkpoint.code in offline:
            continue
        length = model.roads.edges[checkpoint.edge_id].length_m
        for arc in model.network.arcs_of(checkpoint):
            forward = arc & 1 == 0
            label = "in" if forward == checkpoint.forward_inward else "out"
            along = checkpoint.offset_m if forward else max(0.0, length - checkpoint.offset_m)
            by_arc.setdefault(arc, []).append((checkpoint.code, along, label))
    # checkpoints that guard an area from further out (on the way in, not on its ring) would see a trip
    # before its crossing: the walk before (or after) the crossing arc takes no arc any checkpoint films
    avoid = frozenset(arc for checkpoint in model.checkpoints if checkpoint.code not in offline
                      for arc in model.network.arcs_of(checkpoint))
    sightings: list[Sighting] = []
    truth: list[TrueCrossing] = []
    for number in range(trips):
        plate = f"粤L{number:05d}"
        area, arc, direction = rng.choice(choices)
        tail, head = model.network.arc_ends(arc)
        if direction == "in":
            arcs = [*_outside_path(model, area, tail, rng.randint(0, 4), True, rng, avoid), arc]
        else:
            arcs = [arc, *_outside_path(model, area, head, rng.randint(0, 4), False, rng, avoid)]
        crossings = _crossings_on(model, plate, arcs, static)
        keys = [(c.area, c.direction) for c in crossings]
        truth.extend(c for c in crossings if keys.count((c.area, c.direction)) == 1)
        clock += timedelta(seconds=rng.uniform(5, 90))
        at = clock
        for step in arcs:
            length = model.roads.edges[model.network.edge_of(step)].length_m
            for code, along, label in sorted(by_arc.get(step, ()), key=lambda item: item[1]):
                if rng.random() < read_rate:
                    sightings.append(Sighting(plate, code, at + timedelta(seconds=along / SPEED_MPS), label))
            at += timedelta(seconds=length / SPEED_MPS)
    return Traffic(sightings=sorted(sightings, key=lambda s: s.seen_at), crossings=truth)
