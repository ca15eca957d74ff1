"""Login, tokens, roles and the audit rows they leave."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.deps import COOKIE_NAME
from checkpoint.core.models import AuditEntry, User
from checkpoint.core.security import hash_password, issue_token, verify_password
from tests.conftest import PASSWORD, TEST_SECRET, token_for


def audit_rows(session: Session, action: str, name: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.actor_name == name)
    return list(session.scalars(query))


def test_password_hash_is_argon2_and_verifies() -> None:
    hashed = hash_password("Correct-horse-1")
    assert hashed.startswith("$argon2")
    assert verify_password(hashed, "Correct-horse-1")
    assert not verify_password(hashed, "wrong-horse-1")
    assert not verify_password(None, "anything")


def test_login_gives_token_and_cookie(client: TestClient, make_user: Callable[..., User], session: Session) -> None:
    user = make_user("officer")
    response = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["user"]["roles"] == ["officer"]
    cookie = response.headers["set-cookie"]
    assert COOKIE_NAME in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == user.username
    assert len(audit_rows(session, "auth.login", user.username)) == 1


def test_cookie_authenticates_console_requests(client: TestClient, make_user: Callable[..., User]) -> None:
    user = make_user("planner")
    client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert client.get("/api/v1/auth/me").status_code == 200  # the client keeps the cookie
    client.post("/api/v1/auth/logout")
    client.cookies.clear()
    assert client.get("/api/v1/auth/me").status_code == 401


def test_wrong_password_is_401_with_audit_row(client: TestClient, make_user: Callable[..., User],
                                              session: Session) -> None:
    user = make_user("officer")
    response = client.post("/api/v1/auth/login", json={"username": user.username, "password": "nope-nope-1"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "用户名或密码错误" in response.json()["detail"]
    rows = audit_rows(session, "auth.login_failed", user.username)
    assert len(rows) == 1 and rows[0].detail["why"] == "wrong password"


def test_unknown_user_fails_the_same_way(client: TestClient, session: Session) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "whatever-1"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.json()["detail"]
    assert audit_rows(session, "auth.login_failed", "ghost")[0].detail["why"] == "unknown user"


def test_repeated_failures_lock_the_login(client: TestClient, make_user: Callable[..., User]) -> None:
    user = make_user("officer")
    for _ in range(5):  # CHECKPOINT_AUTH__LOCKOUT_LIMIT
        client.post("/api/v1/auth/login", json={"username": user.username, "password": "bad-password-1"})
    response = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "too many failed logins" in response.json()["detail"]


def test_expired_and_forged_tokens_are_refused(client: TestClient, make_user: Callable[..., User]) -> None:
    user = make_user("officer")
    expired, _ = issue_token(TEST_SECRET, user.id, user.token_version, -10)
    forged, _ = issue_token("another-secret-another-secret-xx", user.id, user.token_version, 600)
    for token in (expired, forged, "not-a-token"):
        response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_deactivating_a_user_revokes_their_tokens(client: TestClient, make_user: Callable[..., User],
                                                  auth_headers: Callable[..., dict[str, str]]) -> None:
    user = make_user("dispatcher")
    token = token_for(user)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    admin = auth_headers("admin")
    assert client.patch(f"/api/v1/users/{user.id}", json={"active": False}, headers=admin).status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_admin_creates_users_and_changes_are_audited(client: TestClient, auth_headers: Callable[..., dict[str, str]],
                                                     session: Session) -> None:
    admin = auth_headers("admin")
    response = client.post("/api/v1/users", headers=admin, json={
        "username": "zhang.wei", "password": "Strong-pass-42", "roles": ["investigator", "officer"]})
    assert response.status_code == 201, response.text
    assert response.json()["roles"] == ["investigator", "officer"]
    created = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.create",
                                                       AuditEntry.target == "zhang.wei")).all()
    assert len(created) == 1 and created[0].detail["roles"] == ["investigator", "officer"]
    duplicate = client.post("/api/v1/users", headers=admin, json={
        "username": "zhang.wei", "password": "Strong-pass-42", "roles": ["officer"]})
    assert duplicate.status_code == 409


def test_bad_user_input_gets_reasons(client: TestClient, auth_headers: Callable[..., dict[str, str]]) -> None:
    admin = auth_headers("admin")
    weak = client.post("/api/v1/users", headers=admin,
                       json={"username": "li.na", "password": "short", "roles": ["officer"]})
    assert weak.status_code == 422 and "at least 10 characters" in weak.json()["detail"]
    role = client.post("/api/v1/users", headers=admin, json={"username": "li.na", "password": "Strong-pass-42",
                                                            "roles": ["king"]})
    assert role.status_code == 422 and "unknown role(s) king" in role.json()["detail"]
    missing = client.post("/api/v1/users", headers=admin, json={"username": "li.na"})
    assert missing.status_code == 422 and "password" in missing.json()["detail"]
    assert client.patch("/api/v1/users/999999", headers=admin, json={"active": False}).status_code == 404


def test_auditor_reads_the_audit_log(client: TestClient, auth_headers: Callable[..., dict[str, str]],
                                     make_user: Callable[..., User]) -> None:
    user = make_user("officer")
    client.post("/api/v1/auth/login", json={"username": user.username, "password": "wrong-pass-9"})
    client.cookies.clear()
    rows = client.get("/api/v1/audit", params={"actor": user.username}, headers=auth_headers("auditor")).json()
    assert [row["action"] for row in rows] == ["auth.login_failed"]
    assert client.get("/api/v1/audit", headers=auth_headers("admin")).status_code == 403


def test_audit_log_is_append_only(session: Session, make_user: Callable[..., User]) -> None:
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from checkpoint.core import audit

    entry = audit.record(session, make_user("officer"), "test.event")
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE audit_log SET action = 'x' WHERE id = :id"), {"id": entry.id})
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entry.id})


def test_generated_passwords_always_pass_the_password_rules() -> None:
    from checkpoint.core.security import generate_password, password_problem

    assert all(password_problem(generate_password()) is None for _ in range(2000))
