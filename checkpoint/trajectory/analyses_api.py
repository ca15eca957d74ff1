"""Analysis routes for investigators: each states a reason and is written to the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.deps import SessionDep, SettingsDep, client_ip, require_roles
from checkpoint.core.models import Role, User
from checkpoint.trajectory.analyses import clones, first_entry, frequent, population, targeted
from checkpoint.trajectory.analyses.results import (
    CloneSuspect,
    CollisionPlate,
    Companion,
    FirstEntry,
    Found,
    FrequentPlate,
    NightActive,
    RestingPlace,
)
from checkpoint.trajectory.schemas import Reasoned
from checkpoint.trajectory.service import check_range, check_reason

router = APIRouter(prefix="/analyses", tags=["analyses"])
Investigator = Annotated[User, Depends(require_roles(Role.investigator))]
Reason = Annotated[str, Query(min_length=4, max_length=500, description="why this analysis is run (audited)")]
Start = Annotated[datetime, Query(description="start of the window, with a time zone")]
End = Annotated[datetime, Query(description="end of the window (exclusive), with a time zone")]
Limit = Annotated[int, Query(ge=1, le=5000)]
R = TypeVar("R", bound=BaseModel)
LONGEST = timedelta(days=31)
MinRate = Annotated[float, Query(ge=0, le=1, description="伴随率: the least share of the target's passes accompanied")]


def _audited(session: Session, user: User, request: Request, name: str, reason: str, query: dict[str, Any],
             found: Found[R], target: str | None = None) -> Found[R]:
    audit.record(session, user, f"analysis.{name}", target=target, reason=check_reason(reason),
                 client_ip=client_ip(request), detail={"query": query, "results": found.total})
    session.commit()
    return found


def _window(start: datetime, end: datetime) -> dict[str, str]:
    check_range(start, end, LONGEST)
    return {"start": start.isoformat(), "end": end.isoformat()}


@router.get("/clones", response_model=Found[CloneSuspect])
def find_clones(user: Investigator, request: Request, session: SessionDep, settings: SettingsDep, reason: Reason,
                start: Start, end: End,
                max_speed_kmh: Annotated[float, Query(ge=1, le=400)] = 160,
                min_distance_m: Annotated[float, Query(ge=0, le=2_000_000)] = 2000,
                same_time_s: Annotated[float, Query(ge=0, le=3600)] = 300, limit: Limit = 500) -> Found[CloneSuspect]:
    """套牌: the same plate where one vehicle cannot be, or read with another colour or type at once."""
    query = _window(start, end) | {"max_speed_kmh": max_speed_kmh, "min_distance_m": min_distance_m,
                                   "same_time_s": same_time_s}
    check_reason(reason)
    found = clones.find_clones(session, start, end, max_speed_kmh=max_speed_kmh, min_distance_m=min_distance_m,
                               same_time_s=same_time_s, limit=limit, timezone=settings.timezone)
    return _audited(session, user, request, "clones", reason, query, found)


@router.get("/companions", response_model=Found[Companion])
def find_companions(user: Investigator, request: Request, session: SessionDep, reason: Reason, plate: str,
                    start: Start, end: End, window_s: Annotated[float, Query(gt=0, le=3600)] = 60,
                    min_times: Annotated[int, Query(ge=1)] = 3,
                    min_rate: MinRate = targeted.DEFAULT_MIN_RATE,
                    limit: Limit = 500) -> Found[Companion]:
    """同行/伴随: vehicles at the target's checkpoints within ±window_s, at least min_times times
    and on at least min_rate of the target's passes (the companion rate, 伴随率)."""
    query = _window(start, end) | {"plate": plate, "window_s": window_s, "min_times": min_times,
                                   "min_rate": min_rate}
    check_reason(reason)
    found = targeted.companions(session, plate, start, end, window_s=window_s, min_times=min_times,
                                min_rate=min_rate, limit=limit)
    return _audited(session, user, request, "companions", reason, query, found, target=plate)


@router.get("/first-entry", response_model=Found[FirstEntry])
def find_first_entries(user: Investigator, request: Request, session: SessionDep, settings: SettingsDep,
                       reason: Reason, start: Start, end: End, lookback_days: Annotated[int, Query(ge=1, le=90)] = 30,
                       limit: Limit = 500) -> Found[FirstEntry]:
    """初次入城: vehicles seen in the window and not in the lookback_days before it."""
    query = _window(start, end) | {"lookback_days": lookback_days}
    check_reason(reason)
    found = first_entry.first_entries(session, start, end, lookback_days=lookback_days, limit=limit,
                                     timezone=settings.timezone)
    return _audited(session, user, request, "first-entry", reason, query, found)


@router.get("/night-active", response_model=Found[NightActive])
def find_night_active(user: Investigator, request: Request, session: SessionDep, settings: SettingsDep,
                      reason: Reason, start: Start, end: End,
                      min_share: Annotated[float, Query(gt=0, le=1)] = 0.8,
                      min_days: Annotated[int, Query(ge=1)] = 5,
                      night_start_hour: Annotated[int, Query(ge=0, le=23)] = 22,
                      night_end_hour: Annotated[int, Query(ge=0, le=23)] = 6,
                      limit: Limit = 500) -> Found[NightActive]:
    """昼伏夜出: plates mostly seen at night (site time zone) on many nights."""
    query = _window(start, end) | {"min_share": min_share, "min_days": min_days,
                                   "night_start_hour": night_start_hour, "night_end_hour": night_end_hour}
    check_reason(reason)
    found = population.night_active(session, start, end, timezone=settings.timezone, min_share=min_share,
                                    min_days=min_days, night_start_hour=night_start_hour,
                                    night_end_hour=night_end_hour, limit=limit)
    return _audited(session, user, request, "night-active", reason, query, found)


@router.get("/resting-places", response_model=Found[RestingPlace])
def find_resting_places(user: Investigator, request: Request, session: SessionDep, reason: Reason, plate: str,
                        start: Start, end: End, gap_min: Annotated[float, Query(gt=0, le=1440)] = 30,
                        min_times: Annotated[int, Query(ge=1)] = 2) -> Found[RestingPlace]:
    """落脚点: where the plate's trips end and start again, repeatedly."""
    query = {"start": start.isoformat(), "end": end.isoformat(), "plate": plate, "gap_min": gap_min,
             "min_times": min_times}
    check_range(start, end)
    check_reason(reason)
    found = targeted.resting_places(session, plate, start, end, gap=timedelta(minutes=gap_min), min_times=min_times)
    return _audited(session, user, request, "resting-places", reason, query, found, target=plate)


@router.get("/frequent", response_model=Found[FrequentPlate])
def find_frequent(user: Investigator, request: Request, session: SessionDep, settings: SettingsDep, reason: Reason,
                  start: Start, end: End, min_passes: Annotated[int, Query(ge=2)] = 10,
                  checkpoint: Annotated[list[str] | None, Query()] = None,
                  limit: Limit = 500) -> Found[FrequentPlate]:
    """频繁过车: plates passing one checkpoint at least min_passes times in the window."""
    query = _window(start, end) | {"min_passes": min_passes, "checkpoints": checkpoint or []}
    check_reason(reason)
    found = frequent.frequent_passing(session, start, end, min_passes=min_passes, checkpoints=checkpoint,
                                        limit=limit, timezone=settings.timezone)
    return _audited(session, user, request, "frequent", reason, query, found)


class PlaceWindowIn(BaseModel):
    area: str | None = None  # an area code, or
    checkpoints: list[str] = Field(default_factory=list)  # checkpoint codes
    start: datetime
    end: datetime


class CollisionRequest(Reasoned):
    windows: list[PlaceWindowIn] = Field(min_length=2, max_length=8)
    limit: int = Field(default=500, ge=1, le=5000)


@router.post("/area-collision", response_model=Found[CollisionPlate])
def find_area_collision(body: CollisionRequest, user: Investigator, request: Request,
                        session: SessionDep) -> Found[CollisionPlate]:
    """区域碰撞: plates seen in every one of several (area, time window) pairs."""
    for window in body.windows:
        check_range(window.start, window.end, LONGEST)
    check_reason(body.reason)
    windows = [targeted.PlaceWindow(start=w.start, end=w.end, area=w.area, checkpoints=w.checkpoints)
               for w in body.windows]
    found = targeted.area_collision(session, windows, limit=body.limit)
    query = {"windows": [w.model_dump(mode="json") for w in body.windows]}
    return _audited(session, user, request, "area-collision", body.reason, query, found)
