"""An admin's edit of a checkpoint: each field checked with a Chinese reason, the position re-snapped.

Moving a checkpoint moves it onto the nearest edge of the road graph (as a road import does), so
trajectories, 套牌 and coverage route from where it now stands.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import Point, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.sites.models import Area, Checkpoint
from checkpoint.sites.routing import road_router
from checkpoint.sites.schemas import CheckpointUpdate

MAX_LANES = 16
MIN_CHANGE_REASON = 4
CITY_MARGIN_DEG = 0.05  # about 5 km: a checkpoint on the city line may stand just outside the drawn boundary
DEFENCE_LINES = {"city": "市界 city line", "county": "县界/城区 county line"}


class InvalidCheckpointChange(InvalidInput):
    reason = "invalid-checkpoint-change"


def checked_changes(session: Session, checkpoint: Checkpoint, change: CheckpointUpdate) -> dict[str, Any]:
    """The fields that change, checked; raises InvalidCheckpointChange naming the first field that is wrong."""
    given = change.model_dump(exclude_none=True, exclude={"change_reason"})
    if not given:
        raise InvalidCheckpointChange("没有要修改的内容：请至少修改一项 (nothing to change)")
    if len((change.change_reason or "").strip()) < MIN_CHANGE_REASON:
        raise InvalidCheckpointChange(f"请填写修改原因（至少 {MIN_CHANGE_REASON} 个字），将记入审计日志 "
                                      "(change_reason is required for the audit log)")
    if "name" in given:
        given["name"] = given["name"].strip()
        if not 1 <= len(given["name"]) <= 128:
            raise InvalidCheckpointChange("卡口名称 name 不能为空，且不超过 128 个字")
    if "lanes" in given and not 1 <= given["lanes"] <= MAX_LANES:
        raise InvalidCheckpointChange(f"车道数 lanes 须为 1 到 {MAX_LANES}，收到 {given['lanes']}")
    if "directions" in given and (not given["directions"] or not set(given["directions"]) <= {"in", "out"}):
        raise InvalidCheckpointChange("方向 directions 须为 入城 in、出城 out 中的一个或两个")
    if "defence_line" in given and given["defence_line"] not in DEFENCE_LINES:
        raise InvalidCheckpointChange("防线类别 defence_line 须为 市界 city 或 县界/城区 county")
    if "retention_class" in given and given["retention_class"] not in (1, 2):
        raise InvalidCheckpointChange("保存类别 retention_class 须为 1（一类，30 天）或 2（二类，15 天）")
    if ("lat" in given) != ("lon" in given):
        raise InvalidCheckpointChange("位置须同时给出纬度 lat 和经度 lon")
    if "lat" in given:
        _check_position(session, given["lon"], given["lat"])
    return {name: value for name, value in given.items() if getattr(checkpoint, name) != value}


def _check_position(session: Session, lon: float, lat: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidCheckpointChange(f"位置无效：纬度 {lat}、经度 {lon} 超出范围")
    city = session.scalar(select(Area).where(Area.kind == "city").limit(1))
    if city is not None and not shape(city.geometry).buffer(CITY_MARGIN_DEG).covers(Point(lon, lat)):
        raise InvalidCheckpointChange(f"位置（经度 {lon:.5f}，纬度 {lat:.5f}）不在{city.name}范围内 "
                                      "(the position is outside the city)")


def apply_changes(session: Session, checkpoint: Checkpoint, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the changed fields (re-snapping a moved checkpoint to its road); returns {field: [before, after]}."""
    before = {name: getattr(checkpoint, name) for name in changes}
    for name, value in changes.items():
        setattr(checkpoint, name, value)
    if "lat" in changes or "lon" in changes:
        graph = road_router(session).graph
        if graph.edges:
            hit = graph.nearest_edge((checkpoint.lon, checkpoint.lat))
            before["edge_id"], changes["edge_id"] = checkpoint.edge_id, hit.edge.id
            checkpoint.edge_id = hit.edge.id
            if hit.edge.name:
                before["road"], changes["road"] = checkpoint.road, hit.edge.name
                checkpoint.road = hit.edge.name
    session.flush()
    return {name: [before[name], changes[name]] for name in sorted(changes)}
