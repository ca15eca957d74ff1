"""A fuzzy trajectory search follows misreads with the watchlist's matching, and is audited as such."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.models import AuditEntry
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.plate_search import candidate_reads
from checkpoint.watchlist.plates import Strictness
from tests.trajectory.conftest import AddPass

Headers = Callable[..., dict[str, str]]
REASON = "case 2026-311: hit and run"


def test_a_fuzzy_search_finds_a_plate_read_with_one_confusion(
        client: TestClient, auth_headers: Headers, add_pass: AddPass, checkpoints: list[Checkpoint],
        quiet_day: datetime, session: Session) -> None:
    digits = "".join(secrets.choice("345679") for _ in range(3))
    plate = f"粤LK8{digits}"  # '8' is read as 'B' by a tired camera
    one_confusion, two_confusions = f"粤LKB{digits}", f"粤LKB{digits[:2]}Z" if digits[2] == "7" else None
    at = quiet_day + timedelta(hours=8)
    add_pass(plate, at, checkpoints[0].id)
    add_pass(one_confusion, at + timedelta(minutes=10), checkpoints[5].id)
    add_pass(plate, at + timedelta(minutes=20), checkpoints[9].id)
    add_pass(f"粤LM8{digits}", at + timedelta(minutes=15), checkpoints[7].id)  # another letter: no confusion
    if two_confusions:
        add_pass(two_confusions, at + timedelta(minutes=30), checkpoints[12].id)
    span = {"start": quiet_day.isoformat(), "end": (quiet_day + timedelta(days=1)).isoformat(), "reason": REASON}
    headers = auth_headers("investigator")

    exact = client.get(f"/api/v1/trajectories/{plate}", params=span, headers=headers)
    assert exact.status_code == 200 and exact.json()["pass_count"] == 2

    fuzzy = client.get(f"/api/v1/trajectories/{plate}", params=span | {"mode": "fuzzy"}, headers=headers)
    assert fuzzy.status_code == 200, fuzzy.text
    body = fuzzy.json()
    assert body["plates"] == [plate, one_confusion]
    assert body["pass_count"] == 3 and len(body["trips"]) == 1
    assert [p["plate"] for p in body["trips"][0]["passes"]] == [plate, one_confusion, plate]

    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "trajectory.search")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.reason == REASON
    assert entry.detail["query"]["mode"] == "fuzzy" and entry.detail["query"]["strictness"] == "strict"
    assert entry.detail["query"]["plates"] == [plate, one_confusion] and entry.detail["results"] == 3


def test_fuzzy_search_refuses_what_a_fuzzy_watch_refuses(client: TestClient, auth_headers: Headers,
                                                        quiet_day: datetime) -> None:
    span = {"start": quiet_day.isoformat(), "end": (quiet_day + timedelta(days=1)).isoformat(), "reason": REASON}
    response = client.get("/api/v1/trajectories/粤L123", params=span | {"mode": "fuzzy"},
                          headers=auth_headers("investigator"))
    assert response.status_code == 422 and "not a valid plate" in response.json()["detail"]
    bad = client.get("/api/v1/trajectories/粤LK8123", params=span | {"mode": "fuzzy", "strictness": "wild"},
                     headers=auth_headers("investigator"))
    assert bad.status_code == 422


def test_candidate_reads_follow_the_strictness() -> None:
    strict = candidate_reads("粤LB8Z27", Strictness.strict)
    assert {"粤LB8Z27", "粤L88Z27", "粤LBBZ27", "粤LB8227"} <= strict
    assert "粤L8BZ27" not in strict  # two confusions
    normal = candidate_reads("粤LB8Z27", Strictness.normal)
    assert {"粤L8BZ27", "粤LB8Z2", "粤LB8Z271"} <= normal and strict <= normal
