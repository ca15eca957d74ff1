"""Route: the health of every camera (在线率, 完好率 per checkpoint, district and network) and open outages."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BeforeValidator

from checkpoint.capture import health_report
from checkpoint.core.db import utcnow
from checkpoint.core.deps import BusDep, SessionDep, SettingsDep, require_roles
from checkpoint.core.errors import InvalidInput
from checkpoint.core.models import Role, User

router = APIRouter(tags=["devices"])
HealthViewer = Annotated[User, Depends(require_roles(Role.admin, Role.dispatcher, Role.planner))]


def iso_time_only(value: object) -> object:
    """A window end written as a time (ISO 8601), never a bare number pydantic would read as epoch seconds."""
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?[0-9.eE]+\s*", value):
        raise ValueError("须为 ISO 8601 时间，如 2026-12-08T10:00:00+08:00 (an ISO 8601 time)")
    return value


WindowTime = Annotated[AwareDatetime, BeforeValidator(iso_time_only)]


@router.get("/devices/health")
def devices_health(
    _user: HealthViewer, session: SessionDep, bus: BusDep, settings: SettingsDep,
    since: Annotated[WindowTime | None, Query(description="window start (default: 24 h before until)")] = None,
    until: Annotated[WindowTime | None, Query(description="window end (default: now)")] = None,
) -> dict[str, Any]:
    """Every camera's state and rates over the window, the rates per checkpoint, district and network, the
    plan's thresholds, and the outages still open."""
    end = until or utcnow()
    start = since or end - timedelta(hours=24)
    if start >= end:
        raise InvalidInput("时间窗口的开始须早于结束 (since must be before until)")
    if end - start > timedelta(days=400):
        raise InvalidInput("时间窗口最长 400 天 (at most 400 days)")
    cameras = health_report.camera_health(session, bus, start, end, settings.intake)
    return {
        "since": start.isoformat(), "until": end.isoformat(),
        "plan": {"online_rate": settings.intake.plan_online_rate, "intact_rate": settings.intake.plan_intact_rate,
                 "outage_after_s": settings.intake.outage_after_s},
        "network": asdict(health_report.rates(cameras)),
        "districts": {k: asdict(v) for k, v in health_report.rates_by(cameras, "district").items()},
        "checkpoints": {k: asdict(v) for k, v in health_report.rates_by(cameras, "checkpoint_code").items()},
        "cameras": [asdict(camera) for camera in cameras],
        "outages": health_report.open_outages(session),
    }
