"""Every API route: 401 without a token (login and health aside), 403 with a role it does not admit."""

from __future__ import annotations

import re
import secrets

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from checkpoint.core.models import Role, User
from checkpoint.main import create_app
from tests.conftest import token_for

OPEN_ROUTES = {("POST", "/api/v1/auth/login"), ("GET", "/api/v1/health")}


def api_routes() -> list[tuple[str, str, APIRoute]]:
    """(method, full path, route) of every API route, routers included (FastAPI resolves them lazily)."""
    found = []
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        path = context.path or ""
        if isinstance(route, APIRoute) and path.startswith("/api"):
            for method in sorted(context.methods or ()):
                found.append((method, path, route))
    return found


def required_roles(dependant: Dependant) -> set[str] | None:
    """The roles named by a require_... dependency anywhere in the route's dependency tree."""
    for sub in dependant.dependencies:
        name = getattr(sub.call, "__name__", "")
        if name.startswith("require_"):
            return set(name.removeprefix("require_").split("_or_"))
        if (inner := required_roles(sub)) is not None:
            return inner
    return None


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_app_has_the_expected_routes() -> None:
    paths = {path for _, path, _ in api_routes()}
    assert {"/api/v1/checkpoints", "/api/v1/areas", "/api/v1/roads", "/api/v1/audit", "/api/v1/users"} <= paths


def test_every_route_needs_a_token(client: TestClient) -> None:
    checked = 0
    for method, path, _route in api_routes():
        if (method, path) in OPEN_ROUTES:
            continue
        response = client.request(method, concrete(path), json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} without a token"
        checked += 1
    assert checked >= 10
    for path in ("/api/docs", "/api/v1/openapi.json"):
        assert client.get(path).status_code == 401


def headers_holding(session: Session, roles: list[str]) -> dict[str, str]:
    """A user holding `roles` all at once: a row no service would make (core/duties.py refuses such
    combinations), so the guards are seen to refuse by role alone."""
    user = User(username=f"g{secrets.token_hex(4)}", display_name="", roles=roles, password_hash="-",
                active=True, token_version=0, totp_enabled=False)
    session.add(user)
    session.flush()
    return {"Authorization": f"Bearer {token_for(user)}"}


def test_every_role_guarded_route_refuses_other_roles(client: TestClient, session: Session) -> None:
    guarded = 0
    for method, path, route in api_routes():
        needed = required_roles(route.dependant)
        if needed is None:
            continue
        others = [role.value for role in Role if role.value not in needed]
        response = client.request(method, concrete(path), json={}, headers=headers_holding(session, others))
        assert response.status_code == 403, f"{method} {path} answered {response.status_code} to roles {others}"
        assert "needs the" in response.json()["detail"]
        guarded += 1
    assert guarded >= 4


def test_open_routes_answer_without_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/health").json()["postgres"] in ("up", "down")
    assert client.post("/api/v1/auth/login", json={"username": "x", "password": "y"}).status_code == 401
