"""Coverage routes for planners (admins may read too): the report, what-ifs, placement, live shares."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from checkpoint.core.deps import BusDep, SessionDep, require_roles
from checkpoint.core.models import Role, User
from checkpoint.coverage import service
from checkpoint.coverage.build import CoverageInputError
from checkpoint.coverage.live_rule import reading_live
from checkpoint.coverage.reading import Reading
from checkpoint.coverage.schemas import CoverageReportPublic, OptimumQuery, RuleQuery, WhatIf
from checkpoint.coverage.worker import live_shares

router = APIRouter(prefix="/coverage", tags=["coverage"])
Planner = Annotated[User, Depends(require_roles(Role.planner, Role.admin))]


@router.get("/report", response_model=CoverageReportPublic)
def read_report(_user: Planner, session: SessionDep, bus: BusDep,
                offline: Annotated[list[str] | None, Query(description="checkpoint codes to treat as offline")] = None,
                ) -> dict[str, Any]:
    """Each protected area's least captures in and out, its leak routes, each checkpoint's criticality."""
    change = WhatIf(offline=offline or [])
    return service.coverage_report(session, change, bus)


@router.post("/what-if", response_model=CoverageReportPublic)
def what_if(body: WhatIf, _user: Planner, session: SessionDep, bus: BusDep) -> dict[str, Any]:
    """The report with checkpoints added, moved or offline and areas redrawn; nothing is stored."""
    return service.coverage_report(session, body, bus)


@router.post("/placement")
def placement(body: WhatIf, _user: Planner, session: SessionDep, bus: BusDep) -> dict[str, Any]:
    """The fewest new checkpoint positions bringing every area to ≥ 2 (method and gap named), for the
    stored placement with `body`'s changes; and the effect of removing each existing checkpoint."""
    return service.placement_report(session, body, bus)


@router.get("/live")
def live(_user: Planner, session: SessionDep, bus: BusDep) -> dict[str, Any]:
    """From the pass stream: per area and per checkpoint, the share of crossings captured ≥ 2 times, by hour."""
    built = service.model(session)
    shares = live_shares(bus, [a.code for a in built.areas], [c.code for c in built.checkpoints])
    try:
        shares["by_reading"] = reading_live(bus, service.rule_report(session, Reading(), (), bus))
    except CoverageInputError:
        shares["by_reading"] = None  # no county polygons: only the rings' shares
    return shares


@router.post("/export", response_class=HTMLResponse)
def export(body: WhatIf, _user: Planner, session: SessionDep, bus: BusDep) -> HTMLResponse:
    """The report (with `body`'s what-if applied) as one HTML file with the map, to hand on."""
    html = service.export_report(session, body, bus)
    return HTMLResponse(html, headers={"Content-Disposition": 'attachment; filename="coverage-report.html"'})


@router.post("/rule")
def rule(body: RuleQuery, _user: Planner, session: SessionDep, bus: BusDep) -> dict[str, Any]:
    """Per area under the stated reading (the plan's words by default): least captures, holds, named leak routes."""
    return service.rule_report(session, body.reading, (), bus, body.what_if)


@router.post("/optimum")
def optimum(body: OptimumQuery, _user: Planner, session: SessionDep, bus: BusDep) -> dict[str, Any]:
    """The best positions for the quotas under the reading (HiGHS, gap reported), the least checkpoints for full
    compliance, and what moves, is added or removed against the stored placement."""
    return service.optimum_report(session, body, bus)
