"""Optimal placement under a reading: a mixed-integer program solved by HiGHS, with its gap.

Variables: x_e, the new checkpoints on candidate edge e (0..capacity; each films both ways and counts
for the areas its tags allow); per area and direction a label p_v ∈ [0, 2] on each junction of the
region (p = 0 on the target); y_r ∈ {0, 1} per route. With W(a) the counting captures on arc a:

    p_u ≤ W(u→v) + p_v      for each arc inside the region (in; out mirrors it with p_v ≤ W + p_u)
    2 y_r ≤ W(a) + p_head   for the route crossing in on arc a (out: p_tail + W(a))
    Σ_{e in county D} x_e ≤ quota_D − kept checkpoints of D

Any feasible p is at most the true least captures to the target (induction along a shortest way),
and p = min(least captures, 2) is feasible, so y_r = 1 is possible exactly when route r gets ≥ 2
captures: the program is exact, not a relaxation. "budget" maximises the routes held, then (weight
1 against M > total capacity) minimises the checkpoints; "full" minimises the checkpoints holding
every route that any placement can hold. Areas that share no candidate edge or quota are solved
as separate programs.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np

from checkpoint.coverage.model import REQUIRED_CAPTURES, Direction, RoadNetwork
from checkpoint.coverage.rule import Guarded, Site, arc_weights, area_arcs, area_routes, counts_for

Mode = Literal["budget", "full"]
_banner_shown = False


def _highs() -> highspy.Highs:
    """A silent solver; HiGHS prints its banner to fd 1 on the first one, which would spoil `--json` output."""
    global _banner_shown
    if _banner_shown:
        solver = highspy.Highs()  # type: ignore[no-untyped-call]
    else:
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        try:
            solver = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
        _banner_shown = True
    solver.silent()
    return solver


SOLVER = f"HiGHS {_highs().version()} (mixed-integer program, exact labels; gap from its dual bound)"


@dataclass(frozen=True)
class Candidate:
    """An edge where new checkpoints may stand: whose quota they use, whom they count for, how many fit."""

    edge_id: int
    owner: str
    tags: frozenset[str]
    capacity: int = 1


@dataclass(frozen=True)
class Optimum:
    mode: Mode
    counts: dict[tuple[int, str], int]  # (edge id, county) -> new checkpoints on that county's part of the edge
    routes: int  # routes the program could hold at all
    held: int  # routes holding (≥ 2) in the solution
    unreachable: int  # routes no placement of the candidates can hold
    used: dict[str, int]  # county -> new checkpoints
    status: str
    gap: float | None  # relative gap between the objective and HiGHS's bound (0: proven optimal; None: no bound)
    seconds: float
    programs: int
    solver: str = SOLVER


@dataclass
class _Program:
    costs: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    index: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)

    def col(self, cost: float, lo: float, hi: float, integer: bool = False) -> int:
        self.costs.append(cost)
        self.lower.append(lo)
        self.upper.append(hi)
        if integer:
            self.integer.append(len(self.costs) - 1)
        return len(self.costs) - 1

    def row(self, terms: Sequence[tuple[int, float]], lo: float, hi: float) -> None:
        self.row_lower.append(lo)
        self.row_upper.append(hi)
        self.starts.append(len(self.index))
        for col, coef in terms:
            self.index.append(col)
            self.value.append(coef)

    def solve(self, time_limit_s: float, gap: float) -> tuple[np.ndarray, str, float, float]:
        """Minimise until proven (to `gap`) or out of time."""
        deadline = time.perf_counter() + time_limit_s
        h = _highs()
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("threads", 1)
        if os.environ.get("CHECKPOINT_HIGHS_LOG"):
            h.setOptionValue("output_flag", True)
        n = len(self.costs)
        h.addCols(n, np.array(self.costs), np.array(self.lower), np.array(self.upper), 0,
                  np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        if self.row_lower:
            h.addRows(len(self.row_lower), np.array(self.row_lower), np.array(self.row_upper), len(self.index),
                      np.array(self.starts, np.int32), np.array(self.index, np.int32), np.array(self.value))
        if self.integer:
            h.changeColsIntegrality(len(self.integer), np.array(self.integer, np.int32),
                                    np.full(len(self.integer), highspy.HighsVarType.kInteger.value, np.uint8))
        h.setOptionValue("time_limit", max(0.5, deadline - time.perf_counter()))
        h.run()
        info = h.getInfo()
        values = np.array(h.getSolution().col_value) if n else np.zeros(0)
        objective = float(info.objective_function_value)
        bound = float(info.mip_dual_bound) if self.integer else objective
        return values, h.modelStatusToString(h.getModelStatus()), objective, bound


def _components(areas: Sequence[Guarded], touched: list[set[int]], owner: Mapping[int, str]) -> list[list[int]]:
    """Groups of areas linked by a shared candidate edge or a shared quota."""
    parent = list(range(len(areas)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict[str, int] = {}
    for i, edges in enumerate(touched):
        for key in {f"edge:{e}" for e in edges} | {f"quota:{owner[e]}" for e in edges}:
            if key in first_of:
                parent[find(i)] = find(first_of[key])
            else:
                first_of[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(areas)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def optimise(network: RoadNetwork, areas: Sequence[Guarded], kept: Sequence[Site], candidates: Sequence[Candidate],
             quotas: Mapping[str, int] | None = None, mode: Mode = "budget", time_limit_s: float = 60.0,
             gap: float = 0.0, required: int = REQUIRED_CAPTURES) -> Optimum:
    """The best placement of new checkpoints on `candidates`, `kept` ones staying where they are."""
    started = time.perf_counter()
    by_key = {k: c for k, c in enumerate(candidates) if c.capacity > 0 and c.edge_id in network.edge_index}
    owner = {k: c.owner for k, c in by_key.items()}
    full = [Site(f"cap:{k}:{n}", c.edge_id, tags=c.tags) for k, c in by_key.items() for n in range(c.capacity)]
    reachable = {(g.code, r.direction, r.arc) for g in areas
                 for r in area_routes(network, g, [*kept, *full]) if r.captures >= required}
    plans = [_area_plan(network, g, kept, by_key, reachable) for g in areas]
    symmetric = not any(network.oneways) and all(s.forward and s.backward for s in kept)
    total_routes = sum(len(p.routes) for p in plans)
    counts: dict[tuple[int, str], int] = {}
    held = 0
    statuses: list[str] = []
    objective = bound = 0.0
    groups = _components(areas, [p.edges for p in plans], owner)
    for done, group in enumerate(groups):
        edges = sorted(set().union(*(plans[i].edges for i in group)))
        weight = float(sum(by_key[e].capacity for e in edges) + 1)
        rooms = {county: quotas.get(county, 0) - sum(1 for s in kept if county in s.tags)
                 for county in {owner[e] for e in edges}} if quotas is not None else None
        # each program gets its share of the time left, so a hard one cannot starve the rest
        share = max(0.5, (time_limit_s - (time.perf_counter() - started)) / (len(groups) - done))
        # first the least checkpoints holding every route: if that fits the quotas it is also the
        # budget optimum (no placement holds more routes, none holds them all with fewer), and it is fast
        program, x, ys = _group_program(plans, group, edges, by_key, owner, None, "full", 0.0, required, symmetric)
        values, status, obj, dual = program.solve(share, gap)
        fits = rooms is None or all(sum(round(values[x[e]]) for e in edges if owner[e] == county) <= room
                                    for county, room in rooms.items())
        if mode == "budget" and not (status in ("Optimal", "Empty") and fits):
            program, x, ys = _group_program(plans, group, edges, by_key, owner, rooms, "budget", weight, required,
                                            symmetric)
            values, status, obj, dual = program.solve(share, gap)
        elif mode == "budget":  # the same solution and bound, scored as the budget program scores them
            obj, dual = obj - weight * len(ys), dual - weight * len(ys)
        statuses.append("Optimal" if status == "Empty" else status)  # nothing to decide is decided
        objective += obj
        bound += dual
        for e, col in x.items():
            if (n := int(round(values[col]))) > 0:
                counts[(by_key[e].edge_id, owner[e])] = n
        held += sum(int(round(values[y[0]])) for y in ys) if ys and ys[0][0] >= 0 else len(ys)
    used: dict[str, int] = {}
    for (_edge, county), n in counts.items():
        used[county] = used.get(county, 0) + n
    relative: float | None = abs(objective - bound) / max(1.0, abs(objective)) if groups else 0.0
    if relative is not None and not math.isfinite(relative):
        relative = None  # a program stopped before HiGHS had a bound
    status = "Optimal" if all(s == "Optimal" for s in statuses) else ", ".join(sorted(set(statuses)))
    return Optimum(mode=mode, counts=counts, routes=total_routes, held=held,
                   unreachable=sum(p.unreachable for p in plans), used=used, status=status,
                   gap=None if relative is None else round(relative, 6),
                   seconds=round(time.perf_counter() - started, 3), programs=len(groups))


def _group_program(plans: Sequence[_AreaPlan], group: Sequence[int], edges: Sequence[int],
                   by_key: Mapping[int, Candidate], owner: Mapping[int, str], rooms: Mapping[str, int] | None,
                   mode: Mode, weight: float, required: int,
                   symmetric: bool) -> tuple[_Program, dict[int, int], list[tuple[int, str, str, int]]]:
    """One program for a group of linked areas: its x columns by candidate, and its routes."""
    program = _Program()
    x = {e: program.col(1.0, 0.0, float(by_key[e].capacity), integer=True) for e in edges}
    ys: list[tuple[int, str, str, int]] = []
    for i in group:
        ys += _add_area(program, plans[i], x, weight, mode, required, symmetric)
    for county, room in sorted((rooms or {}).items()):
        program.row([(x[e], 1.0) for e in edges if owner[e] == county], -np.inf, float(max(room, 0)))
    return program, x, ys


@dataclass
class _AreaPlan:
    area: Guarded
    fixed: dict[int, int]  # arc -> captures by kept checkpoints counting here
    arc_edge: dict[int, list[int]]  # arc -> the candidates on its edge that count here
    inner: list[tuple[int, int, int]]  # (arc, tail, head)
    routes: list[tuple[str, int, int]]  # (direction, arc, the junction inside)
    edges: set[int]  # the candidates (keys) it touches
    unreachable: int


def _area_plan(network: RoadNetwork, area: Guarded, kept: Sequence[Site], by_key: Mapping[int, Candidate],
               reachable: set[tuple[str, Direction, int]]) -> _AreaPlan:
    fixed = {arc: len(codes) for arc, codes in arc_weights(network, kept, area).items()}
    arcs = area_arcs(network, area)
    on_edge: dict[int, list[int]] = {}
    for key, candidate in by_key.items():
        if counts_for(Site("", candidate.edge_id, tags=candidate.tags), area):
            on_edge.setdefault(candidate.edge_id, []).append(key)
    arc_edge: dict[int, list[int]] = {}
    for arc in [*arcs.inner, *arcs.entering, *arcs.leaving]:
        if (keys := on_edge.get(network.edge_of(arc))) is not None:
            arc_edge[arc] = keys
    ends = {arc: network.arc_ends(arc) for arc in [*arcs.inner, *arcs.entering, *arcs.leaving]}
    all_routes = {("in", a) for a in arcs.entering} | {("out", a) for a in arcs.leaving}
    routes = [(d, a, ends[a][1] if d == "in" else ends[a][0]) for d, a in sorted(all_routes, key=lambda t: t[1])
              if (area.code, d, a) in reachable]
    unreachable = len({r for r in area_routes(network, area, kept)}) - len(routes)
    return _AreaPlan(area, fixed, arc_edge, [(a, *ends[a]) for a in arcs.inner], routes,
                     {k for keys in arc_edge.values() for k in keys}, max(0, unreachable))


def _add_area(program: _Program, plan: _AreaPlan, x: Mapping[int, int], weight: float, mode: Mode,
              required: int, symmetric: bool = False) -> list[tuple[int, str, str, int]]:
    """Labels, arc rows and route rows of one area; returns its routes (column, area, direction, arc)."""
    top = float(required)
    code = plan.area.code
    ys: list[tuple[int, str, str, int]] = []
    ins = {arc for d, arc, _node in plan.routes if d == "in"}
    outs = {arc ^ 1 for d, arc, _node in plan.routes if d == "out"}
    twin = symmetric and ins == outs
    for direction in ("in", "out"):
        label: dict[int, int] = {}
        if direction == "out" and twin:
            # two-way roads filmed both ways: each route out is a route in driven backwards, same captures
            ys += [(col, code, "out", arc ^ 1) for col, _c, _d, arc in ys]
            break

        def p(node: int, label: dict[int, int] = label) -> int:
            if node not in label:
                fixed_zero = node in plan.area.target
                label[node] = program.col(0.0, 0.0, 0.0 if fixed_zero else top)
            return label[node]

        for arc, tail, head in plan.inner:
            const = plan.fixed.get(arc, 0)
            if const >= required:
                continue
            near, far = (tail, head) if direction == "in" else (head, tail)  # p_near ≤ W + p_far
            terms = [(p(near), 1.0), (p(far), -1.0)]
            terms += [(x[k], -1.0) for k in plan.arc_edge.get(arc, ())]
            program.row(terms, -np.inf, float(const))
        for route_direction, arc, node in plan.routes:
            if route_direction != direction:
                continue
            const = plan.fixed.get(arc, 0)
            terms = [(p(node), -1.0)]
            terms += [(x[k], -1.0) for k in plan.arc_edge.get(arc, ())]
            if mode == "budget":
                y = program.col(-weight * (2 if twin else 1), 0.0, 1.0, integer=True)
                ys.append((y, code, direction, arc))
                program.row([(y, top), *terms], -np.inf, float(const))
            else:
                ys.append((-1, code, direction, arc))
                program.row(terms, -np.inf, float(const) - top)
    return ys

