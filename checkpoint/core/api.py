"""Core routes: console settings, the audit log, health (auth_api: logins; users_api: accounts)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from checkpoint.core import audit
from checkpoint.core.auth_api import router as auth_router
from checkpoint.core.bus import Bus
from checkpoint.core.db import Database
from checkpoint.core.deps import AuditorUser, CurrentUser, SessionDep, SettingsDep
from checkpoint.core.health import Health, report
from checkpoint.core.schemas import AuditEntryPublic, ConsoleConfig
from checkpoint.core.users_api import router as users_router

router = APIRouter()
router.include_router(auth_router)
router.include_router(users_router)
VERSION = "0.1.0"


@router.get("/console/config", response_model=ConsoleConfig, tags=["console"])
def console_config(_user: CurrentUser, settings: SettingsDep) -> ConsoleConfig:
    return ConsoleConfig(site_name=settings.site_name, timezone=settings.timezone, tile_url=settings.tile_url)


@router.get("/audit", response_model=list[AuditEntryPublic], tags=["audit"])
def read_audit(
    _auditor: AuditorUser,
    session: SessionDep,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    target: str | None = Query(default=None, max_length=256, description="part of the target: a plate, watch:17"),
) -> list[AuditEntryPublic]:
    rows = audit.search(session, action=action, actor=actor, since=since, until=until,
                        before_id=before_id, limit=limit, target=target)
    return [AuditEntryPublic.model_validate(row) for row in rows]


@router.get("/health", response_model=Health, tags=["health"],
            responses={503: {"model": Health, "description": "degraded or down"}})
def health(settings: SettingsDep) -> JSONResponse:
    """Open to all (load balancers, monitoring): PostgreSQL and Redis reachable (latency), the data
    directory writable (a real write) and its free space, each consumer group's lag and pending on
    the pass streams, the dead letters; `ok` answers 200, `degraded` and `down` 503 (core/health.py)."""
    body = report(Database.engine, Bus.client, settings.data_dir, VERSION)
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)
