"""三员分立 and four eyes across accounts: one person with two accounts is still one pair of eyes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.duties import modern_roles
from checkpoint.core.models import AuditEntry, User
from tests.conftest import PASSWORD, token_for

USERS = "/api/v1/users"
WATCHES = "/api/v1/watchlist/watches"


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


def register_watch(client: TestClient, officer: User, plate: str = "粤L3C9F7") -> int:
    response = client.post(WATCHES, headers=bearer(officer), json={
        "pattern": plate, "match_mode": "exact", "category": "stolen", "reason": "car stolen in Huicheng"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def grant_approver(client: TestClient, first: User, second: User, user_id: int, roles: list[str]) -> None:
    """One security admin asks, a second confirms."""
    asked = client.put(f"{USERS}/{user_id}/roles", headers=bearer(first), json={"roles": roles, "reason": "新任审批人"})
    assert asked.status_code == 200 and "approver" not in asked.json()["roles"], asked.text
    grants = client.get("/api/v1/role-grants", headers=bearer(second)).json()
    grant = next(g for g in grants if g["user_id"] == user_id)
    own = client.post(f"/api/v1/role-grants/{grant['id']}/decision", headers=bearer(first),
                      json={"confirm": True, "reason": "self"})
    assert own.status_code == 403 and "second security admin" in own.json()["detail"]
    confirmed = client.post(f"/api/v1/role-grants/{grant['id']}/decision", headers=bearer(second),
                            json={"confirm": True, "reason": "核实任命文件"})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed", confirmed.text


def approve(client: TestClient, approver: User, watch_id: int) -> Any:
    return client.post(f"{WATCHES}/{watch_id}/approve", headers=bearer(approver), json={"reason": "核实"})


def test_an_admin_cannot_approve_their_own_watch_through_a_second_account(
        client: TestClient, make_user: Callable[..., User], session: Session) -> None:
    """Why, line 1: an admin created a second officer+admin account and approved their own watch (200)."""
    admin = make_user("admin", "officer")
    first, second = make_user("security_admin"), make_user("security_admin")
    watch_id = register_watch(client, admin)

    both = client.post(USERS, headers=bearer(admin), json={
        "username": "second.me", "password": "Strong-pass-42", "roles": ["officer", "approver"]})
    assert both.status_code == 403 and "security admin" in both.json()["detail"]
    created = client.post(USERS, headers=bearer(admin), json={
        "username": "second.me", "password": "Strong-pass-42", "roles": ["officer"]})
    assert created.status_code == 201, created.text
    second_id = created.json()["id"]
    by_admin = client.put(f"{USERS}/{second_id}/roles", headers=bearer(admin),
                          json={"roles": ["officer", "approver"], "reason": "x"})
    assert by_admin.status_code == 403 and "needs the security_admin role" in by_admin.json()["detail"]
    via_patch = client.patch(f"{USERS}/{second_id}", headers=bearer(admin), json={"roles": ["approver"]})
    assert via_patch.status_code == 403

    grant_approver(client, first, second, second_id, ["officer", "approver"])
    second_me = session.get_one(User, second_id)
    refused = approve(client, second_me, watch_id)
    assert refused.status_code == 403 and refused.json()["reason"] == "four-eyes", refused.text
    assert "created, granted or reset by the requester" in refused.json()["detail"]

    unrelated = make_user("approver")
    assert approve(client, unrelated, watch_id).status_code == 200


def test_the_security_admins_of_a_grant_cannot_be_approved_by_it(
        client: TestClient, make_user: Callable[..., User], session: Session) -> None:
    first, second = make_user("security_admin", "officer"), make_user("security_admin")
    watch_id = register_watch(client, first)
    account = make_user("officer")
    grant_approver(client, first, second, account.id, ["officer", "approver"])
    assert approve(client, session.get_one(User, account.id), watch_id).status_code == 403
    assert approve(client, make_user("approver"), watch_id).status_code == 200


def test_an_admins_password_reset_ties_the_account_to_them_until_its_owner_changes_it(
        client: TestClient, make_user: Callable[..., User], session: Session) -> None:
    admin, approver = make_user("admin", "officer"), make_user("approver")
    watch_id = register_watch(client, admin)
    reset = client.post(f"{USERS}/{approver.id}/password-reset", headers=bearer(admin))
    assert reset.status_code == 200 and len(reset.json()["password"]) >= 12
    new_password = reset.json()["password"]
    assert approve(client, session.get_one(User, approver.id), watch_id).status_code == 403

    login = client.post("/api/v1/auth/login", json={"username": approver.username, "password": new_password})
    own = {"Authorization": f"Bearer {login.json()['access_token']}"}
    changed = client.post("/api/v1/auth/password", headers=own,
                          json={"current_password": new_password, "new_password": "My-own-secret-77"})
    assert changed.status_code == 204, changed.text
    client.cookies.clear()
    assert approve(client, session.get_one(User, approver.id), watch_id).status_code == 200


def test_one_account_holds_one_separated_duty(client: TestClient, make_user: Callable[..., User],
                                               session: Session) -> None:
    security, user = make_user("security_admin"), make_user("officer")
    for roles in (["admin", "auditor"], ["security_admin", "approver"], ["auditor", "approver"],
                  ["auditor", "investigator"], ["admin", "approver", "officer"]):
        response = client.put(f"{USERS}/{user.id}/roles", headers=bearer(security),
                              json={"roles": roles, "reason": "test"})
        assert response.status_code == 422 and "三员分立" in response.json()["detail"], response.text
    own = client.put(f"{USERS}/{security.id}/roles", headers=bearer(security),
                     json={"roles": ["security_admin", "investigator"], "reason": "self"})
    assert own.status_code == 403
    granted = client.put(f"{USERS}/{user.id}/roles", headers=bearer(security),
                         json={"roles": ["officer", "investigator"], "reason": "调岗 moved to investigations"})
    assert granted.status_code == 200 and granted.json()["roles"] == ["investigator", "officer"]
    row = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.roles",
                                                   AuditEntry.target == user.username)).one()
    assert row.detail["added"] == ["investigator"] and row.reason == "调岗 moved to investigations"
    assert client.get("/api/v1/audit", headers=bearer(security)).status_code == 403
    assert client.get(USERS, headers=bearer(make_user("auditor"))).status_code == 403
    assert client.post(USERS, headers=bearer(make_user("approver")), json={
        "username": "nobody.x", "password": PASSWORD, "roles": ["officer"]}).status_code == 403


def test_withdrawal_is_asked_for_and_approved_by_two_people(
        client: TestClient, make_user: Callable[..., User]) -> None:
    officer, approver, other = make_user("officer"), make_user("approver"), make_user("approver")
    watch_id = register_watch(client, officer)
    assert approve(client, approver, watch_id).status_code == 200
    asked = client.post(f"{WATCHES}/{watch_id}/withdraw-request", headers=bearer(approver),
                        json={"reason": "车辆已找回 vehicle recovered"})
    assert asked.status_code == 200 and asked.json()["status"] == "active"
    own = client.post(f"{WATCHES}/{watch_id}/withdraw", headers=bearer(approver), json={"reason": ""})
    assert own.status_code == 403 and own.json()["reason"] == "four-eyes"
    done = client.post(f"{WATCHES}/{watch_id}/withdraw", headers=bearer(other), json={"reason": ""})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"
    assert done.json()["withdraw_reason"] == "车辆已找回 vehicle recovered"


def test_old_role_lists_map_to_the_separated_ones() -> None:
    assert modern_roles(["officer", "admin"]) == ["approver", "officer"]
    assert modern_roles(["admin"]) == ["admin"]
