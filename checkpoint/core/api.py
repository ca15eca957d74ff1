"""Core routes: login/logout, the current user, user administration, the audit log, health."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from checkpoint.core import audit, users
from checkpoint.core.bus import Bus
from checkpoint.core.db import Database
from checkpoint.core.deps import (
    COOKIE_NAME,
    AdminUser,
    AuditorUser,
    CurrentUser,
    SessionDep,
    SettingsDep,
    client_ip,
)
from checkpoint.core.health import Health, report
from checkpoint.core.schemas import (
    AuditEntryPublic,
    ConsoleConfig,
    LoginRequest,
    LoginResponse,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from checkpoint.core.security import issue_token

router = APIRouter()
VERSION = "0.1.0"


@router.post("/auth/login", response_model=LoginResponse, tags=["auth"])
def login(body: LoginRequest, request: Request, response: Response, session: SessionDep,
          settings: SettingsDep) -> LoginResponse:
    """Check the password; answer a bearer token and set the console's httpOnly cookie."""
    try:
        user = users.authenticate(session, body.username, body.password, client_ip(request))
    finally:
        session.commit()  # the audit row of a failed login is kept too
    token, expires_at = issue_token(settings.resolved_secret_key(), user.id, user.token_version, settings.token_ttl_s)
    response.set_cookie(COOKIE_NAME, token, max_age=settings.token_ttl_s, httponly=True, samesite="strict",
                        secure=settings.cookie_secure, path="/")
    return LoginResponse(access_token=token, expires_at=expires_at, user=UserPublic.model_validate(user))


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(user: CurrentUser, request: Request, session: SessionDep) -> Response:
    audit.record(session, user, "auth.logout", client_ip=client_ip(request))
    session.commit()
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/auth/me", response_model=UserPublic, tags=["auth"])
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.get("/console/config", response_model=ConsoleConfig, tags=["console"])
def console_config(_user: CurrentUser, settings: SettingsDep) -> ConsoleConfig:
    return ConsoleConfig(site_name=settings.site_name, timezone=settings.timezone, tile_url=settings.tile_url)


@router.get("/users", response_model=list[UserPublic], tags=["users"])
def list_users(_admin: AdminUser, session: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(user) for user in users.list_users(session)]


@router.post("/users", response_model=UserPublic, status_code=201, tags=["users"])
def create_user(body: UserCreate, admin: AdminUser, request: Request, session: SessionDep) -> UserPublic:
    user = users.create(session, username=body.username, password=body.password, roles=body.roles,
                        display_name=body.display_name, unit=body.unit)
    audit.record(session, admin, "user.create", target=user.username, client_ip=client_ip(request),
                 detail={"roles": user.roles})
    session.commit()
    return UserPublic.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserPublic, tags=["users"])
def update_user(user_id: int, body: UserUpdate, admin: AdminUser, request: Request,
                session: SessionDep) -> UserPublic:
    user = users.get(session, user_id)
    changed = users.update(session, user, roles=body.roles, active=body.active, password=body.password,
                           display_name=body.display_name, unit=body.unit)
    audit.record(session, admin, "user.update", target=user.username, client_ip=client_ip(request),
                 detail={"changed": changed, "roles": user.roles, "active": user.active})
    session.commit()
    return UserPublic.model_validate(user)


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
