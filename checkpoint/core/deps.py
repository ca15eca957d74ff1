"""FastAPI dependencies, each named once as an Annotated alias."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from redis import Redis
from sqlalchemy.orm import Session

from checkpoint.core.bus import get_bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import get_session
from checkpoint.core.errors import Forbidden, NotAuthenticated
from checkpoint.core.login_sessions import check_session
from checkpoint.core.models import Role, User
from checkpoint.core.security import TokenClaims, read_token

COOKIE_NAME = "checkpoint_session"

T = TypeVar("T")


def provided(request: Request, provider: Callable[[], T]) -> T:
    """`provider()`, or its entry in app.dependency_overrides (tests set one): honoured by hand, see below."""
    return request.app.dependency_overrides.get(provider, provider)()  # type: ignore[no-any-return]  # overrides are untyped


async def settings_dep(request: Request) -> Settings:
    """get_settings() without a thread-pool hop: FastAPI runs every sync dependency in a worker thread,
    which the smart-camera push path pays on every request; a cached value needs no thread."""
    return provided(request, get_settings)


async def bus_dep(request: Request) -> Redis:
    """get_bus() without a thread-pool hop (it returns the configured client), overridable as get_bus."""
    return provided(request, get_bus)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(settings_dep)]
BusDep = Annotated[Redis, Depends(bus_dep)]


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME)


def token_claims(request: Request, settings: SettingsDep) -> TokenClaims:
    """The claims of the request's valid token; 401 otherwise."""
    token = _token_from(request)
    if not token:
        raise NotAuthenticated("请先登录 (log in first: no bearer token or session cookie)")
    claims = read_token(settings.resolved_secret_key(), token)
    if claims is None:
        raise NotAuthenticated("登录凭证无效或已过期，请重新登录 (the token is invalid or has expired)")
    return claims


ClaimsDep = Annotated[TokenClaims, Depends(token_claims)]


def current_user(claims: ClaimsDep, session: SessionDep, settings: SettingsDep) -> User:
    """The logged-in user from a bearer token or the console's cookie: its login still open and not idle
    (login_sessions.check_session); 401 otherwise."""
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.token_version != claims.token_version:
        raise NotAuthenticated("登录凭证已撤销，请重新登录 (the token has been revoked; log in again)")
    check_session(session, claims, settings.auth.idle_timeout_s)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets through users holding any of `roles`, and answers 403 to others."""

    def check(user: CurrentUser) -> User:
        if not user.has_any(*roles):
            needed = " or ".join(role.value for role in roles)
            raise Forbidden(f"this needs the {needed} role")
        return user

    check.__name__ = f"require_{'_or_'.join(role.value for role in roles)}"
    return check


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]  # 系统管理员
SecurityAdminUser = Annotated[User, Depends(require_roles(Role.security_admin))]  # 安全管理员
UserAdminUser = Annotated[User, Depends(require_roles(Role.admin, Role.security_admin))]  # reads accounts
AuditorUser = Annotated[User, Depends(require_roles(Role.auditor))]  # 审计管理员
