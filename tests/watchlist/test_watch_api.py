"""Watch lifecycle through the API: four eyes, audit with reasons, refused patterns, the Redis index."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.models import AuditEntry, User
from checkpoint.watchlist.change_log import WatchChange
from checkpoint.watchlist.index import ENTRIES_KEY, VERSION_KEY
from checkpoint.watchlist.local_index import IndexCopy
from tests.watchlist.conftest import WatchMaker, headers_for, random_plate

WATCHES = "/api/v1/watchlist/watches"


def register(client: TestClient, officer: User, pattern: str, **extra: object) -> dict[str, object]:
    body = {"pattern": pattern, "match_mode": "exact", "category": "stolen", "reason": "car stolen in Huicheng",
            "case_number": "HZ-2026-0042", **extra}
    response = client.post(WATCHES, json=body, headers=headers_for(officer))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_an_officer_cannot_approve_their_own_watch(client: TestClient, make_user: Callable[..., User]) -> None:
    both = make_user("officer", "approver")
    watch = register(client, both, random_plate())
    assert watch["status"] == "pending"
    response = client.post(f"{WATCHES}/{watch['id']}/approve", json={}, headers=headers_for(both))
    assert response.status_code == 403
    assert response.json()["reason"] == "four-eyes"
    assert "a second person decides" in response.json()["detail"]


def test_a_plain_officer_cannot_approve(client: TestClient, officer: User, make_user: Callable[..., User]) -> None:
    watch = register(client, officer, random_plate())
    response = client.post(f"{WATCHES}/{watch['id']}/approve", json={}, headers=headers_for(make_user("officer")))
    assert response.status_code == 403 and "needs the approver role" in response.json()["detail"]


def test_approval_puts_the_watch_in_the_index_and_withdrawal_takes_it_out(
        client: TestClient, bus: Redis, session: Session, officer: User, supervisor: User) -> None:
    plate = random_plate()
    watch = register(client, officer, plate)
    approved = client.post(f"{WATCHES}/{watch['id']}/approve", json={"reason": "case confirmed"},
                           headers=headers_for(supervisor))
    assert approved.json()["status"] == "active" and approved.json()["approved_by"] == supervisor.id
    assert plate in str(bus.hget(ENTRIES_KEY, str(watch["id"])))

    refused = client.post(f"{WATCHES}/{watch['id']}/withdraw-request", json={"reason": " "},
                          headers=headers_for(officer))
    assert refused.status_code == 422 and "why" in refused.json()["detail"]
    unasked = client.post(f"{WATCHES}/{watch['id']}/withdraw", json={"reason": "x"}, headers=headers_for(supervisor))
    assert unasked.status_code == 409 and "ask for the withdrawal first" in unasked.json()["detail"]
    asked = client.post(f"{WATCHES}/{watch['id']}/withdraw-request", json={"reason": "vehicle recovered"},
                        headers=headers_for(officer))
    assert asked.status_code == 200 and asked.json()["status"] == "active"  # in force until approved
    withdrawn = client.post(f"{WATCHES}/{watch['id']}/withdraw", json={"reason": "vehicle recovered"},
                            headers=headers_for(supervisor))
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["in_force"] is True
    assert bus.hget(ENTRIES_KEY, str(watch["id"])) is None
    changes = session.scalars(select(WatchChange).where(WatchChange.entry_id == watch["id"])
                              .order_by(WatchChange.version)).all()
    assert [(change.op, change.action, change.changed_by) for change in changes] == [
        ("add", "approve", supervisor.id), ("remove", "withdraw", supervisor.id)]
    assert bus.get(VERSION_KEY) == str(changes[-1].version)

    audit = session.scalars(select(AuditEntry).where(AuditEntry.target == f"watch:{watch['id']}")
                            .order_by(AuditEntry.id)).all()
    assert [(row.action, row.reason) for row in audit] == [
        ("watch.create", "car stolen in Huicheng"), ("watch.submit", "car stolen in Huicheng"),
        ("watch.approve", "case confirmed"), ("watch.withdraw_request", "vehicle recovered"),
        ("watch.withdraw", "vehicle recovered")]


def test_a_draft_is_submitted_by_its_officer(client: TestClient, officer: User, supervisor: User) -> None:
    draft = register(client, officer, random_plate(), submit=False)
    assert draft["status"] == "draft"
    early = client.post(f"{WATCHES}/{draft['id']}/approve", json={}, headers=headers_for(supervisor))
    assert early.status_code == 409
    submitted = client.post(f"{WATCHES}/{draft['id']}/submit", headers=headers_for(officer))
    assert submitted.json()["status"] == "pending"
    rejected = client.post(f"{WATCHES}/{draft['id']}/reject", json={"reason": "no case number"},
                           headers=headers_for(supervisor))
    assert rejected.json()["status"] == "rejected"


def test_a_bad_pattern_is_refused_with_the_reason(client: TestClient, officer: User) -> None:
    body: dict[str, object] = {"pattern": "粤L*", "match_mode": "wildcard", "category": "stolen", "reason": "x" * 5}
    response = client.post(WATCHES, json=body, headers=headers_for(officer))
    assert response.status_code == 422
    assert response.json()["reason"] == "invalid-input" and "too broad" in response.json()["detail"]
    body = {**body, "pattern": "粤L1234", "match_mode": "exact"}
    assert "not a valid plate" in client.post(WATCHES, json=body, headers=headers_for(officer)).json()["detail"]
    body = {**body, "pattern": "粤L12345", "scope_kind": "districts", "scope_districts": ["nowhere"]}
    assert "unknown district" in client.post(WATCHES, json=body, headers=headers_for(officer)).json()["detail"]


def test_other_roles_may_not_touch_watches(client: TestClient, make_user: Callable[..., User]) -> None:
    dispatcher = make_user("dispatcher")
    assert client.get(WATCHES, headers=headers_for(dispatcher)).status_code == 403


def test_wildcard_and_fuzzy_watches_are_indexed(active_watch: WatchMaker, bus: Redis) -> None:
    wildcard = active_watch("粤L?23*", "wildcard")
    fuzzy = active_watch("粤L88227", "fuzzy", strictness="strict")
    copy = IndexCopy()
    copy.load(bus)  # what a matcher holds
    assert wildcard["id"] in copy.lookup("粤LC2345") and wildcard["id"] not in copy.lookup("粤LC3345")
    assert fuzzy["id"] in copy.lookup("粤LB8Z27")
