"""Every plate search and refused decision leaves an audit row: watch preview, four-eyes, image views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.config import Settings
from checkpoint.core.models import AuditEntry, User
from checkpoint.passes import partitions, store
from checkpoint.passes.record import CapturedPass
from checkpoint.sites.models import Checkpoint
from tests.watchlist.conftest import headers_for, random_plate

PREVIEW = "/api/v1/watchlist/preview"


def newest(session: Session, action: str) -> AuditEntry | None:
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                           .order_by(AuditEntry.id.desc())).first()


def store_pass(session: Session, checkpoint: Checkpoint, plate: str, at: datetime,
               plate_image: str | None = None) -> CapturedPass:
    partitions.ensure_day_partitions(session.connection(), at.date(), at.date())
    captured = CapturedPass(checkpoint_id=checkpoint.id, plate=plate, captured_at=at, plate_image_path=plate_image,
                            source="test")
    store.insert_passes(session.connection().connection.dbapi_connection, [captured],
                        {checkpoint.id: (checkpoint.lat, checkpoint.lon)}, datetime.now(UTC))
    return captured


def test_a_preview_without_reason_is_refused_and_with_one_records_its_plate(
        client: TestClient, session: Session, officer: User, checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    store_pass(session, checkpoints[0], plate, datetime.now(UTC) - timedelta(hours=2))
    before = newest(session, "watch.preview")
    refused = client.post(PREVIEW, json={"pattern": plate}, headers=headers_for(officer))
    assert refused.status_code == 422 and "事由" in refused.json()["detail"], refused.text
    blank = client.post(PREVIEW, json={"pattern": plate, "reason": "   "}, headers=headers_for(officer))
    assert blank.status_code == 422 and "passes" not in blank.json()
    assert newest(session, "watch.preview") == before  # nothing searched, nothing shown

    shown = client.post(PREVIEW, json={"pattern": plate.lower(), "reason": "布控前核查 check before registering"},
                        headers=headers_for(officer))
    assert shown.status_code == 200, shown.text
    assert shown.json()["matched"] == 1 and shown.json()["passes"][0]["plate"] == plate
    row = newest(session, "watch.preview")
    assert row is not None and row.target == plate and row.actor_name == officer.username
    assert row.reason == "布控前核查 check before registering"
    assert row.detail["mode"] == "exact" and row.detail["matched"] == 1 and row.detail["plates"] == [plate]


def test_refused_four_eyes_attempts_are_audited(client: TestClient, session: Session,
                                                make_user: Callable[..., User]) -> None:
    requester = make_user("officer", "approver")
    body = {"pattern": random_plate(), "match_mode": "exact", "category": "stolen", "reason": "车辆被盗 stolen"}
    watch = client.post("/api/v1/watchlist/watches", json=body, headers=headers_for(requester)).json()
    own = client.post(f"/api/v1/watchlist/watches/{watch['id']}/approve", json={"reason": "自批 self"},
                      headers=headers_for(requester))
    assert own.status_code == 403 and own.json()["reason"] == "four-eyes"
    rejected = client.post(f"/api/v1/watchlist/watches/{watch['id']}/reject", json={"reason": "自驳 self"},
                           headers=headers_for(requester))
    assert rejected.status_code == 403 and rejected.json()["reason"] == "four-eyes"
    plain = make_user("officer")  # no approver duty: refused by role before any decision is tried
    assert client.post(f"/api/v1/watchlist/watches/{watch['id']}/reject", json={"reason": "no"},
                       headers=headers_for(plain)).status_code == 403
    approve = newest(session, "watch.approve.refused")
    assert approve is not None and approve.actor_name == requester.username
    assert approve.target == f"watch:{watch['id']}" and approve.reason == "自批 self"
    reject = newest(session, "watch.reject.refused")
    assert reject is not None and reject.actor_name == requester.username and reject.reason == "自驳 self"
    still = client.get(f"/api/v1/watchlist/watches/{watch['id']}", headers=headers_for(requester)).json()
    assert still["status"] == "pending"


def test_each_pass_image_view_is_audited_with_its_plate(client: TestClient, session: Session,
                                                       test_settings: Settings, checkpoints: list[Checkpoint],
                                                       auth_headers: Callable[..., dict[str, str]]) -> None:
    plate = random_plate()
    relpath = f"images/audit-{plate.encode().hex()}.jpg"
    (test_settings.data_dir / "images").mkdir(parents=True, exist_ok=True)
    (test_settings.data_dir / relpath).write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9")
    stored = store_pass(session, checkpoints[0], plate, datetime.now(UTC) - timedelta(minutes=5), relpath)
    image = client.get(f"/api/v1/passes/{stored.pass_id}/images/plate", headers=auth_headers("investigator"))
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
    row = newest(session, "pass.image.view")
    assert row is not None and row.target == plate
    assert row.detail == {"pass_id": str(stored.pass_id), "kind": "plate"}
