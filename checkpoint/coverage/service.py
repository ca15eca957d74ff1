"""Coverage from the database: the live model (inactive checkpoints and dead feeds are offline) and what-ifs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from redis import Redis
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from checkpoint.core.errors import NotFound
from checkpoint.coverage import planner
from checkpoint.coverage.analysis import analyze
from checkpoint.coverage.build import (
    PROTECTED_KINDS,
    AreaShape,
    CoverageInputError,
    CoverageModel,
    RoadBase,
    SiteCheckpoint,
    area_shape,
    build_model,
    road_base,
)
from checkpoint.coverage.export import report_html
from checkpoint.coverage.placement import as_checkpoints, place
from checkpoint.coverage.planner import RuleSetup
from checkpoint.coverage.reading import Reading
from checkpoint.coverage.report import placement_json, report_json
from checkpoint.coverage.schemas import OptimumQuery, WhatIf
from checkpoint.sites.feed_keys import feed_key
from checkpoint.sites.models import Area, Checkpoint, Feed
from checkpoint.sites.routing import RoadRouter, road_router


class UnknownRingCheckpoint(NotFound):
    reason = "unknown-checkpoint"


_ROAD_BASE: dict[int, tuple[RoadRouter, RoadBase]] = {}  # one entry: the base of the graph last routed


def road_base_of(session: Session) -> RoadBase:
    """The road graph of the routing service, fingerprinted on every call (an import replaces its rows)."""
    router = road_router(session, max_age_s=0.0)
    cached = _ROAD_BASE.get(0)
    if cached is None or cached[0] is not router:
        cached = _ROAD_BASE[0] = (router, road_base(router.graph))
    return cached[1]


_AREA_SHAPES: dict[tuple[str, str, str, str], AreaShape] = {}  # by code, name, kind, md5 of the polygon


def area_shapes(session: Session, kinds: tuple[str, ...] = PROTECTED_KINDS) -> list[AreaShape]:
    """The protected areas' polygons, parsed again only when a polygon changed (the city has 39 parts)."""
    digest = func.md5(cast(Area.geometry, Text))
    rows = session.execute(select(Area.code, Area.name, Area.kind, digest).where(Area.kind.in_(kinds))
                           .order_by(Area.kind, Area.code)).all()
    keys = [(code, name, kind, md5) for code, name, kind, md5 in rows]
    missing = {key[0] for key in keys if key not in _AREA_SHAPES}
    if missing:
        if len(_AREA_SHAPES) > 200:
            _AREA_SHAPES.clear()
        for row in session.scalars(select(Area).where(Area.code.in_(missing))):
            key = next(k for k in keys if k[0] == row.code)
            _AREA_SHAPES[key] = area_shape(row.code, row.name, row.kind, row.geometry)
    return [_AREA_SHAPES[key] for key in keys]


def feed_offline(session: Session) -> set[int]:
    """Checkpoints that have feeds but none enabled: nothing there can capture."""
    rows = session.execute(select(Feed.checkpoint_id, func.count(), func.count().filter(Feed.enabled.is_(True)))
                           .group_by(Feed.checkpoint_id))
    return {checkpoint_id for checkpoint_id, total, enabled in rows if total and not enabled}


DOWN_STATES = frozenset({"offline", "failed"})


def feeds_down(session: Session, bus: Redis | None) -> set[int]:
    """Checkpoints whose enabled video feeds all report offline or failed in capture's live status."""
    if bus is None:
        return set()
    feeds = list(session.execute(select(Feed.id, Feed.checkpoint_id).where(
        Feed.enabled.is_(True), Feed.kind.in_(("rtsp", "http", "file")))))
    if not feeds:
        return set()
    pipe = bus.pipeline(transaction=False)
    for feed_id, _checkpoint_id in feeds:
        pipe.hget(feed_key(feed_id), "state")
    states: dict[int, list[str | None]] = {}
    for (_feed_id, checkpoint_id), state in zip(feeds, pipe.execute(), strict=True):
        states.setdefault(checkpoint_id, []).append(state)
    return {checkpoint_id for checkpoint_id, found in states.items() if all(s in DOWN_STATES for s in found)}


def site_checkpoints(session: Session, bus: Redis | None = None) -> list[SiteCheckpoint]:
    """The placement as stored; with `bus`, checkpoints whose feeds are all down right now count as offline."""
    dead = feed_offline(session) | feeds_down(session, bus)
    return [SiteCheckpoint(code=row.code, guards=row.guards, lon=row.lon, lat=row.lat, edge_id=row.edge_id,
                           directions=tuple(row.directions or ("in", "out")), bearing_in_deg=row.bearing_in_deg,
                           active=row.active and row.id not in dead)
            for row in session.scalars(select(Checkpoint).order_by(Checkpoint.code))]


def apply_what_if(checkpoints: list[SiteCheckpoint], areas: list[AreaShape], change: WhatIf,
                  ) -> tuple[list[SiteCheckpoint], list[AreaShape]]:
    """The checkpoints and areas with a planner's proposed changes applied (nothing is stored)."""
    by_code = {c.code: c for c in checkpoints}
    for code in change.offline:
        if code not in by_code:
            raise UnknownRingCheckpoint(f"cannot take {code!r} offline: no such checkpoint")
    for move in change.moved:
        if move.code not in by_code:
            raise UnknownRingCheckpoint(f"cannot move {move.code!r}: no such checkpoint")
        # a moved checkpoint re-snaps to its new road and faces into its area from there
        by_code[move.code] = replace(by_code[move.code], lon=move.lon, lat=move.lat, edge_id=None,
                                     bearing_in_deg=None)
    for index, added in enumerate(change.added, start=1):
        code = added.code or f"NEW-{index:02d}"
        if code in by_code:
            raise CoverageInputError(f"added checkpoint {code!r}: that code is taken")
        by_code[code] = SiteCheckpoint(code=code, guards=added.guards, lon=added.lon, lat=added.lat, edge_id=None,
                                       directions=tuple(added.directions))
    shapes = {a.code: a for a in areas}
    for redrawn in change.areas:
        old = shapes.get(redrawn.code)
        shapes[redrawn.code] = area_shape(redrawn.code, redrawn.name or (old.name if old else redrawn.code),
                                          redrawn.kind, redrawn.geometry)
    return list(by_code.values()), list(shapes.values())


def model(session: Session, change: WhatIf | None = None, bus: Redis | None = None) -> CoverageModel:
    checkpoints, areas = site_checkpoints(session, bus), area_shapes(session)
    if change is not None:
        checkpoints, areas = apply_what_if(checkpoints, areas, change)
    known_areas = {a.code for a in areas}
    for added in (change.added if change else []):
        if added.guards not in known_areas:
            raise CoverageInputError(f"added checkpoint guards {added.guards!r}, which is not a city or centre area")
    return build_model(road_base_of(session), areas, checkpoints,
                       core_depth_m=change.core_depth_m if change else 0.0)


def _built_report(session: Session, change: WhatIf | None, bus: Redis | None = None,
                  ) -> tuple[CoverageModel, dict[str, Any]]:
    started = time.perf_counter()
    built = model(session, change, bus)
    offline = built.inactive | frozenset(change.offline if change else ())
    report = analyze(built.network, built.areas, built.checkpoints, offline=offline,
                     with_criticality=change.criticality if change else True)
    return built, report_json(built, report, seconds=round(time.perf_counter() - started, 4))


def coverage_report(session: Session, change: WhatIf | None = None, bus: Redis | None = None) -> dict[str, Any]:
    """The report for the stored placement, or for it with `change` applied; timed for the console.

    With `bus`, it follows feed status live: a checkpoint whose video feeds are all down is offline."""
    return _built_report(session, change, bus)[1]


def export_report(session: Session, change: WhatIf | None = None, bus: Redis | None = None) -> str:
    """The report as a self-contained HTML page with the map, for the placement with `change` applied."""
    built, report = _built_report(session, change, bus)
    described = []
    if change is not None:
        described += [f"offline {', '.join(change.offline)}"] if change.offline else []
        described += [f"{len(change.added)} checkpoints added"] if change.added else []
        described += [f"moved {', '.join(m.code for m in change.moved)}"] if change.moved else []
        described += [f"redrawn {', '.join(a.code for a in change.areas)}"] if change.areas else []
    return report_html(built, report, "; ".join(described) or "the stored placement, as it is now")


def placement_report(session: Session, change: WhatIf | None = None, bus: Redis | None = None) -> dict[str, Any]:
    """The fewest new positions that bring every area to ≥ 2, and what removing each existing one does."""
    started = time.perf_counter()
    built = model(session, change, bus)
    offline = built.inactive | frozenset(change.offline if change else ())
    before = analyze(built.network, built.areas, built.checkpoints, offline=offline)
    plan = place(built.network, built.areas, built.checkpoints, offline)
    after = analyze(built.network, built.areas, [*built.checkpoints, *as_checkpoints(plan)], offline=offline,
                    with_criticality=False)
    return {**placement_json(built, plan, after, before), "seconds": round(time.perf_counter() - started, 4)}


RULE_KINDS = ("city", "district", "centre")


def rule_setup(session: Session, reading: Reading, offline: Sequence[str] = (), bus: Redis | None = None,
               change: WhatIf | None = None) -> RuleSetup:
    """The rule under `reading` for the stored placement (feeds all down count as offline), what-if applied."""
    checkpoints, areas = site_checkpoints(session, bus), area_shapes(session, RULE_KINDS)
    if change is not None:
        checkpoints, areas = apply_what_if(checkpoints, areas, change)
    known = {c.code for c in checkpoints}
    missing = set(offline) - known
    if missing:
        raise UnknownRingCheckpoint(f"没有这些卡口：{', '.join(sorted(missing))}")
    down = frozenset(offline) | frozenset(change.offline if change else ())
    return planner.setup(road_base_of(session).roads, areas, checkpoints, reading, down)


def rule_report(session: Session, reading: Reading, offline: Sequence[str] = (), bus: Redis | None = None,
                change: WhatIf | None = None) -> dict[str, Any]:
    """Per area under `reading`: least captures in and out, holds, and the leak routes named by roads and places."""
    return planner.check(rule_setup(session, reading, offline, bus, change))


def optimum_report(session: Session, query: OptimumQuery, bus: Redis | None = None) -> dict[str, Any]:
    """The best placement under the query's reading and quotas, the budget for full compliance, the moves."""
    from checkpoint.coverage.placement_report import placement_result

    s = rule_setup(session, query.reading, (), bus)
    quotas = dict(planner.PLAN_QUOTAS if query.quotas is None else query.quotas)
    unknown = set(quotas) - set(s.where.counties)
    if unknown:
        raise CoverageInputError(f"没有这些县（区）：{', '.join(sorted(unknown))}")
    if any(n < 0 for n in quotas.values()):
        raise CoverageInputError("配额不能为负数")
    forbid = frozenset(s.graph.nearest_edge((p.lon, p.lat)).edge.id for p in query.forbid)
    result, _features = placement_result(s, quotas, query.keep, forbid, query.time_limit_s, query.spend_quota)
    return result
