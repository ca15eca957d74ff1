"""Trajectory routes for investigators: every search states a reason and is audited."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.deps import SessionDep, client_ip, require_roles
from checkpoint.core.errors import InvalidInput
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
Mode = Annotated[Literal["exact", "fuzzy"], Query(description="exact plate, or fuzzy with the watchlist's matching")]
Strictness = Annotated[Literal["strict", "normal", "loose"], Query(description="how fuzzy (as for a fuzzy watch)")]

# (session, plate, strictness, start, end) -> the plate, then the other plates seen that match it
FuzzyPlateSearch = Callable[[Session, str, str, datetime, datetime], Sequence[str]]


def fuzzy_plate_search(request: Request) -> FuzzyPlateSearch | None:
    """The watchlist's search, which the app factory puts in `app.state` (trajectory cannot import it).

    Not a dependency override: with any override set, FastAPI analyses every dependency's signature
    again on every request of every route (a third of the API's CPU for a smart camera's push).
    """
    search: FuzzyPlateSearch | None = getattr(request.app.state, "fuzzy_plate_search", None)
    return search


FuzzySearchDep = Annotated[FuzzyPlateSearch | None, Depends(fuzzy_plate_search)]


def _search(session: Session, user: User, request: Request, plate: str, start: datetime, end: datetime,
            gap_min: float, reason: str, action: str, mode: str = "exact", strictness: str = "strict",
            fuzzy: FuzzyPlateSearch | None = None) -> Trajectory:
    stated = service.check_reason(reason)
    matcher: service.PlateMatcher = service.exact_plate
    if mode == "fuzzy":
        if fuzzy is None:
            raise InvalidInput("fuzzy plate search is not available here: search the exact plate")
        search = fuzzy

        def matcher(session: Session, typed: str) -> Sequence[str]:
            return search(session, typed, strictness, start, end)

    trajectory = service.build_trajectory(session, plate, start, end, gap=timedelta(minutes=gap_min),
                                          matcher=matcher)
    audit.record(session, user, action, target=trajectory.plate, reason=stated, client_ip=client_ip(request),
                 detail={"query": {"plate": plate, "mode": mode, "strictness": strictness if mode == "fuzzy" else None,
                                   "plates": trajectory.plates, "start": start.isoformat(), "end": end.isoformat(),
                                   "gap_min": gap_min},
                         "results": trajectory.pass_count, "trips": len(trajectory.trips)})
    session.commit()
    return trajectory


@router.get("/trajectories/{plate}", response_model=Trajectory)
def read_trajectory(plate: str, user: Investigator, request: Request, session: SessionDep, reason: Reason,
                    start: Start, end: End, fuzzy: FuzzySearchDep, gap_min: GapMin = 30, mode: Mode = "exact",
                    strictness: Strictness = "strict") -> Trajectory:
    """A plate's passes in [start, end), split into trips at gaps, each leg along the road graph.

    mode=fuzzy also follows the plates a fuzzy watch on `plate` would match (misreads).
    """
    return _search(session, user, request, plate, start, end, gap_min, reason, "trajectory.search", mode,
                   strictness, fuzzy)


@router.get("/trajectories/{plate}/export")
def export_trajectory(plate: str, user: Investigator, request: Request, session: SessionDep, reason: Reason,
                      start: Start, end: End, fuzzy: FuzzySearchDep, gap_min: GapMin = 30, mode: Mode = "exact",
                      strictness: Strictness = "strict", format: Literal["geojson", "csv"] = "geojson") -> Response:
    """The trajectory as a GeoJSON FeatureCollection or a CSV file of passes."""
    trajectory = _search(session, user, request, plate, start, end, gap_min, reason, f"trajectory.export.{format}",
                         mode, strictness, fuzzy)
    name = f"trajectory-{trajectory.plate}-{start:%Y%m%d}-{end:%Y%m%d}"
    disposition = {"Content-Disposition": f"attachment; filename*=UTF-8''{_quoted(name)}.{format}"}
    if format == "csv":
        return Response(service.to_csv(trajectory), media_type="text/csv; charset=utf-8", headers=disposition)
    body: dict[str, Any] = service.to_geojson(trajectory)
    return JSONResponse(body, media_type="application/geo+json", headers=disposition)


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name)
