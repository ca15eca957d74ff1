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
from checkpoint.core.models import Role, User
from checkpoint.core.security import read_token

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


def current_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    """The logged-in user from a bearer token or the console's cookie; 401 otherwise."""
    token = _token_from(request)
    if not token:
        raise NotAuthenticated("log in first: no bearer token or session cookie")
    claims = read_token(settings.resolved_secret_key(), token)
    if claims is None:
        raise NotAuthenticated("the token is invalid or has expired; log in again")
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.token_version != claims.token_version:
        raise NotAuthenticated("the token has been revoked; log in again")
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


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
AuditorUser = Annotated[User, Depends(require_roles(Role.auditor))]
