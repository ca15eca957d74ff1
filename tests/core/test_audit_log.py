"""Auditors filter the log by time, user, action and target, and export what they filtered as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.models import AuditEntry, User
from tests.conftest import token_for


def headers_for(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


def test_filters_and_csv_export(client: TestClient, session: Session, make_user: Callable[..., User]) -> None:
    alice, bob = make_user("investigator"), make_user("officer")
    since = datetime.now(UTC) - timedelta(seconds=1)
    audit.record(session, alice, "trajectory.search", target="粤LK7788", reason="盗窃案 theft case")
    audit.record(session, alice, "pass.search", target="粤LK77*", reason="盗窃案 theft case",
                 detail={"query": {"plate": "粤LK77*"}})
    audit.record(session, bob, "watch.preview", target="粤LK7788", reason="布控前核查")
    audit.record(session, bob, "watch.approve.refused", target="watch:9")
    session.flush()
    auditor = headers_for(make_user("auditor"))

    def listed(**params: str) -> list[tuple[str, str, str | None]]:
        response = client.get("/api/v1/audit", params={"since": since.isoformat(), **params}, headers=auditor)
        assert response.status_code == 200, response.text
        return [(row["actor_name"], row["action"], row["target"]) for row in response.json()]

    assert listed(target="LK77") == [(bob.username, "watch.preview", "粤LK7788"),
                                     (alice.username, "pass.search", "粤LK77*"),
                                     (alice.username, "trajectory.search", "粤LK7788")]
    assert listed(actor=alice.username, action="pass.") == [(alice.username, "pass.search", "粤LK77*")]
    assert listed(action="watch.", target="watch:") == [(bob.username, "watch.approve.refused", "watch:9")]
    assert listed(until=since.isoformat()) == []

    export = client.get("/api/v1/audit/export", params={"since": since.isoformat(), "target": "粤LK7788"},
                        headers=auditor)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"] and export.text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert table[0][:4] == ["编号 id", "时间 time", "用户 actor", "动作 action"]
    assert [(row[2], row[3], row[4], row[5]) for row in table[1:]] == [
        (bob.username, "watch.preview", "粤LK7788", "布控前核查"),
        (alice.username, "trajectory.search", "粤LK7788", "盗窃案 theft case")]
    exported = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export.csv")
                               .order_by(AuditEntry.id.desc())).first()
    assert exported is not None and exported.detail["target"] == "粤LK7788"

    backwards = client.get("/api/v1/audit/export", params={"since": since.isoformat(),
                                                           "until": (since - timedelta(hours=1)).isoformat()},
                           headers=auditor)
    assert backwards.status_code == 422 and "结束时间" in backwards.json()["detail"]
    assert client.get("/api/v1/audit/export", headers=headers_for(alice)).status_code == 403
