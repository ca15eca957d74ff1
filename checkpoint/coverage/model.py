"""The pure coverage model: directed roads, protected areas, the checkpoints of their rings, and results.

Nothing here touches the database or geometry, so the algorithm can be tested on hand-drawn graphs
and benchmarked on generated ones. Node and edge ids are the road graph's own integers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

Direction = Literal["in", "out"]
DIRECTIONS: tuple[Direction, ...] = ("in", "out")
REQUIRED_CAPTURES = 2  # the plan's two lines of defence


@dataclass(frozen=True)
class Road:
    """One road edge; two-way roads carry traffic both ways, one-way roads only source -> target."""

    id: int
    source: int
    target: int
    oneway: bool = False


@dataclass(frozen=True)
class RingCheckpoint:
    """A checkpoint of one area's ring, at a point on a road edge, capturing the arcs it faces."""

    code: str
    area: str  # the code of the area it guards: only that area's rule counts its captures
    edge_id: int
    forward: bool  # captures traffic running source -> target
    backward: bool  # captures traffic running target -> source
    offset_m: float = 0.0  # from the edge's source, for drawing and for moving it


@dataclass(frozen=True)
class ProtectedArea:
    """An area whose boundary every vehicle must cross under ≥ 2 captures.

    `inside` holds the junctions inside the polygon; a route enters when it goes from a junction
    outside to one inside. `core`, if given, narrows the destinations of entering routes (and
    the origins of leaving ones) to junctions deeper inside. `passing` lists edges whose two ends
    lie outside but which run through the area: each is a route in and out on its own.
    """

    code: str
    name: str
    inside: frozenset[int]
    core: frozenset[int] | None = None
    passing: frozenset[int] = frozenset()


class RoadNetwork:
    """Roads indexed for search: arc 2*i is edge i forward, arc 2*i+1 the same edge backward."""

    def __init__(self, roads: Iterable[Road]) -> None:
        self.roads: list[Road] = list(roads)
        self.edge_index: dict[int, int] = {}
        node_ids: dict[int, int] = {}
        sources: list[int] = []
        targets: list[int] = []
        for index, road in enumerate(self.roads):
            if road.id in self.edge_index:
                raise ValueError(f"duplicate road edge id {road.id}")
            self.edge_index[road.id] = index
            sources.append(node_ids.setdefault(road.source, len(node_ids)))
            targets.append(node_ids.setdefault(road.target, len(node_ids)))
        self.node_index = node_ids
        self.node_ids: npt.NDArray[np.int64] = np.fromiter(node_ids, dtype=np.int64, count=len(node_ids))
        self.source_idx: npt.NDArray[np.int64] = np.asarray(sources, dtype=np.int64)
        self.target_idx: npt.NDArray[np.int64] = np.asarray(targets, dtype=np.int64)
        self.oneway: npt.NDArray[np.bool_] = np.fromiter((r.oneway for r in self.roads), dtype=np.bool_,
                                                         count=len(self.roads))
        self._adjacency: tuple[dict[int, list[int]], dict[int, list[int]]] | None = None

    def arc_ends(self, arc: int) -> tuple[int, int]:
        """(tail, head) node ids of an arc."""
        road = self.roads[arc >> 1]
        return (road.source, road.target) if arc & 1 == 0 else (road.target, road.source)

    def arc_exists(self, arc: int) -> bool:
        return arc & 1 == 0 or not self.roads[arc >> 1].oneway

    def edge_of(self, arc: int) -> int:
        return self.roads[arc >> 1].id

    def arcs_of(self, checkpoint: RingCheckpoint) -> list[int]:
        """The arcs a checkpoint captures (none of a direction a one-way road does not carry)."""
        index = self.edge_index.get(checkpoint.edge_id)
        if index is None:
            raise ValueError(f"checkpoint {checkpoint.code} is on edge {checkpoint.edge_id}, not in the graph")
        arcs = [2 * index] if checkpoint.forward else []
        if checkpoint.backward and not self.roads[index].oneway:
            arcs.append(2 * index + 1)
        return arcs

    def inside_mask(self, nodes: frozenset[int]) -> npt.NDArray[np.bool_]:
        """A boolean per dense node index: is the node in `nodes`?"""
        mask = np.zeros(len(self.node_index), dtype=np.bool_)
        known = [self.node_index[n] for n in nodes if n in self.node_index]
        mask[np.asarray(known, dtype=np.int64)] = True
        return mask

    def adjacency(self) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        """(arcs leaving, arcs arriving) per node id; built once, only when a deeper search needs it."""
        if self._adjacency is None:
            leaving: dict[int, list[int]] = {}
            arriving: dict[int, list[int]] = {}
            for index, road in enumerate(self.roads):
                for arc in ((2 * index,) if road.oneway else (2 * index, 2 * index + 1)):
                    tail, head = (road.source, road.target) if arc & 1 == 0 else (road.target, road.source)
                    leaving.setdefault(tail, []).append(arc)
                    arriving.setdefault(head, []).append(arc)
            self._adjacency = (leaving, arriving)
        return self._adjacency


@dataclass(frozen=True)
class LeakRoute:
    """A way across an area's boundary with fewer captures than required."""

    area: str
    direction: Direction
    edge_id: int  # the road where the route crosses the boundary
    tail: int  # the crossing arc's junctions, in the direction of travel
    head: int
    captures: int
    checkpoints: tuple[str, ...]  # the ring checkpoints that do capture it
    path: tuple[int, ...]  # edge ids of the whole route, in travel order
    passing: bool = False  # the road runs through the area without a junction inside


@dataclass(frozen=True)
class AreaCoverage:
    """One area's result: the least captures any crossing gets, each way, and the leaks."""

    code: str
    name: str
    min_captures_in: int | None  # None: no road enters (nothing to guard)
    min_captures_out: int | None
    crossings: int  # crossing routes checked, both ways
    leak_routes: tuple[LeakRoute, ...]

    @property
    def holds(self) -> bool:
        return all(m is None or m >= REQUIRED_CAPTURES for m in (self.min_captures_in, self.min_captures_out))


@dataclass(frozen=True)
class Criticality:
    """What taking one checkpoint offline does to its area."""

    code: str
    area: str
    new_leaks: int  # crossings that had ≥ 2 captures and would fall below
    min_captures_in_after: int | None
    min_captures_out_after: int | None


@dataclass(frozen=True)
class CoverageReport:
    areas: tuple[AreaCoverage, ...]
    criticality: tuple[Criticality, ...] = ()
    offline: frozenset[str] = field(default_factory=frozenset)

    @property
    def holds(self) -> bool:
        return all(area.holds for area in self.areas)
