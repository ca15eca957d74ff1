"""The pure coverage model: directed roads, protected areas, the checkpoints of their rings, and results.

Nothing here touches the database or geometry, so the algorithm can be tested on hand-drawn graphs
and benchmarked on generated ones. Node and edge ids are the road graph's own integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    forward_inward: bool = True  # traffic source -> target heads into the area (labels a pass 'in' or 'out')


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
        listed = list(roads)
        self._setup([r.id for r in listed], [r.source for r in listed], [r.target for r in listed],
                    [r.oneway for r in listed])

    @classmethod
    def from_arrays(cls, ids: Sequence[int], sources: Sequence[int], targets: Sequence[int],
                    oneway: Sequence[bool]) -> RoadNetwork:
        """Build from parallel columns (fast for large graphs: no Road objects)."""
        network = cls.__new__(cls)
        network._setup(list(ids), list(sources), list(targets), [bool(v) for v in oneway])
        return network

    def _setup(self, ids: list[int], sources: list[int], targets: list[int], oneway: list[bool]) -> None:
        self.ids, self.sources, self.targets, self.oneways = ids, sources, targets, oneway
        self.edge_index: dict[int, int] = dict(zip(ids, range(len(ids)), strict=True))
        if len(self.edge_index) != len(ids):
            raise ValueError("duplicate road edge ids")
        ends = np.concatenate([np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64)])
        self.node_ids, inverse = np.unique(ends, return_inverse=True)
        self.source_idx: npt.NDArray[np.intp] = inverse[: len(ids)]
        self.target_idx: npt.NDArray[np.intp] = inverse[len(ids):]
        self._adjacency: tuple[dict[int, list[int]], dict[int, list[int]]] | None = None

    @property
    def roads(self) -> list[Road]:
        return [Road(*row) for row in zip(self.ids, self.sources, self.targets, self.oneways, strict=True)]

    def arc_ends(self, arc: int) -> tuple[int, int]:
        """(tail, head) node ids of an arc."""
        index = arc >> 1
        return (self.sources[index], self.targets[index]) if arc & 1 == 0 else (self.targets[index],
                                                                                 self.sources[index])

    def arc_exists(self, arc: int) -> bool:
        return arc & 1 == 0 or not self.oneways[arc >> 1]

    def edge_of(self, arc: int) -> int:
        return self.ids[arc >> 1]

    def arcs_of(self, checkpoint: RingCheckpoint) -> list[int]:
        """The arcs a checkpoint captures (none of a direction a one-way road does not carry)."""
        index = self.edge_index.get(checkpoint.edge_id)
        if index is None:
            raise ValueError(f"checkpoint {checkpoint.code} is on edge {checkpoint.edge_id}, not in the graph")
        arcs = [2 * index] if checkpoint.forward else []
        if checkpoint.backward and not self.oneways[index]:
            arcs.append(2 * index + 1)
        return arcs

    def inside_mask(self, nodes: frozenset[int]) -> npt.NDArray[np.bool_]:
        """A boolean per dense node index: is the node in `nodes`?"""
        wanted = np.fromiter(nodes, dtype=np.int64, count=len(nodes))
        return np.isin(self.node_ids, wanted)

    def adjacency(self) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        """(arcs leaving, arcs arriving) per node id; built once, only when a deeper search needs it."""
        if self._adjacency is None:
            leaving: dict[int, list[int]] = {}
            arriving: dict[int, list[int]] = {}
            for index, (source, target, one) in enumerate(zip(self.sources, self.targets, self.oneways,
                                                              strict=True)):
                leaving.setdefault(source, []).append(2 * index)
                arriving.setdefault(target, []).append(2 * index)
                if not one:
                    leaving.setdefault(target, []).append(2 * index + 1)
                    arriving.setdefault(source, []).append(2 * index + 1)
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
