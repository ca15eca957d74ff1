"""Trajectory routes for investigators: every search states a reason and is audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.deps import SessionDep, client_ip, require_roles
from checkpoint.core.models import Role, User
from checkpoint.trajectory import service
from checkpoint.trajectory.analyses_api import router as analyses_router
from checkpoint.trajectory.schemas import Trajectory

router = APIRouter(tags=["trajectory"])
router.include_router(analyses_router)
Investigator = Annotated[User, Depends(require_roles(Role.investigator))]
Reason = Annotated[str, Query(min_length=4, max_length=500, description="why this search is made (audited)")]
Start = Annotated[datetime, Query(description="start of the range, with a time zone")]
End = Annotated[datetime, Query(description="end of the range (exclusive), with a time zone")]
GapMin = Annotated[float, Query(gt=0, le=24 * 60, description="a new trip starts after this many minutes")]


def _search(session: Session, user: User, request: Request, plate: str, start: datetime, end: datetime,
            gap_min: float, reason: str, action: str) -> Trajectory:
    stated = service.check_reason(reason)
    trajectory = service.build_trajectory(session, plate, start, end, gap=timedelta(minutes=gap_min))
    audit.record(session, user, action, target=trajectory.plate, reason=stated, client_ip=client_ip(request),
                 detail={"query": {"plate": plate, "plates": trajectory.plates, "start": start.isoformat(),
                                   "end": end.isoformat(), "gap_min": gap_min},
                         "results": trajectory.pass_count, "trips": len(trajectory.trips)})
    session.commit()
    return trajectory


@router.get("/trajectories/{plate}", response_model=Trajectory)
def read_trajectory(plate: str, user: Investigator, request: Request, session: SessionDep, reason: Reason,
                    start: Start, end: End, gap_min: GapMin = 30) -> Trajectory:
    """A plate's passes in [start, end), split into trips at gaps, each leg along the road graph."""
    return _search(session, user, request, plate, start, end, gap_min, reason, "trajectory.search")


@router.get("/trajectories/{plate}/export")
def export_trajectory(plate: str, user: Investigator, request: Request, session: SessionDep, reason: Reason,
                      start: Start, end: End, gap_min: GapMin = 30,
                      format: Literal["geojson", "csv"] = "geojson") -> Response:
    """The trajectory as a GeoJSON FeatureCollection or a CSV file of passes."""
    trajectory = _search(session, user, request, plate, start, end, gap_min, reason, f"trajectory.export.{format}")
    name = f"trajectory-{trajectory.plate}-{start:%Y%m%d}-{end:%Y%m%d}"
    disposition = {"Content-Disposition": f"attachment; filename*=UTF-8''{_quoted(name)}.{format}"}
    if format == "csv":
        return Response(service.to_csv(trajectory), media_type="text/csv; charset=utf-8", headers=disposition)
    body: dict[str, Any] = service.to_geojson(trajectory)
    return JSONResponse(body, media_type="application/geo+json", headers=disposition)


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name)
