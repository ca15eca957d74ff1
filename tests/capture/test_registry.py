"""The registry: feeds through the API with their passwords hidden, and CSV import reporting a bad row by line."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture.models import Device
from checkpoint.core.models import AuditEntry
from checkpoint.sites.models import Checkpoint, Feed

CSV_HEADER = "checkpoint,lane,direction,kind,code,name,source,rtsp_transport,tollgate_id,digest_username," \
             "digest_password,enabled\n"


def first_checkpoint(session: Session) -> Checkpoint:
    checkpoint = session.scalars(select(Checkpoint).where(Checkpoint.lanes >= 2).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    return checkpoint


def test_a_feed_added_through_the_api_never_shows_its_password(
        client: TestClient, session: Session, auth_headers: Callable[..., dict[str, str]]) -> None:
    admin = auth_headers("admin")
    checkpoint = first_checkpoint(session)
    body = {"checkpoint": checkpoint.code, "lane": 2, "kind": "rtsp", "source": "rtsp://admin:Secret99@10.1.2.3:554/ch1",
            "rtsp_transport": "udp"}
    created = client.post("/api/v1/feeds", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "rtsp://admin:***@10.1.2.3:554/ch1" and "Secret99" not in created.text
    listed = client.get("/api/v1/feeds", headers=admin)
    assert "Secret99" not in listed.text and created.json()["id"] in [f["id"] for f in listed.json()]
    stored = session.get(Feed, created.json()["id"])
    assert stored is not None and stored.source.endswith("Secret99@10.1.2.3:554/ch1") and stored.rtsp_transport == "udp"
    audits = session.scalars(select(AuditEntry).where(AuditEntry.target == f"feed:{stored.id}")).all()
    assert [a.action for a in audits] == ["feed.add"] and "Secret99" not in str(audits[0].detail)

    disabled = client.patch(f"/api/v1/feeds/{stored.id}", json={"enabled": False}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert client.post("/api/v1/feeds", json=body, headers=auth_headers("officer")).status_code == 403
    bad = client.post("/api/v1/feeds", json={**body, "lane": 15}, headers=admin)
    assert bad.status_code == 422 and "车道" in bad.json()["detail"]


def test_csv_import_reports_bad_rows_by_line_and_applies_the_others(
        client: TestClient, session: Session, auth_headers: Callable[..., dict[str, str]]) -> None:
    admin = auth_headers("admin")
    code = first_checkpoint(session).code
    text = (CSV_HEADER
            + f"{code},1,in,rtsp,,东向 1,rtsp://ops:pw-1@10.9.0.1/main,tcp,,,,1\n"  # line 2
            + f"{code},2,in,gat1400,44130200001190000077,卡口相机,,,44130200001210000077,cam77,pw-of-77,1\n"  # 3
            + "NO-SUCH-CHECKPOINT,1,in,rtsp,,,rtsp://10.9.0.2/main,,,,,1\n"  # line 4: unknown checkpoint
            + f"{code},1,in,rtsp-ish,,,rtsp://10.9.0.3/main,,,,,1\n"  # line 5: unknown kind
            + f"{code},2,in,gat1400,123,短编号,,,44130200001210000077,cam,pw-of-123,1\n")  # line 6: not 20 digits
    response = client.post("/api/v1/registry/import", content=text.encode(), headers={**admin,
                                                                                      "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["added"], result["changed"]) == (2, 0)
    assert [error["line"] for error in result["errors"]] == [4, 5, 6]
    reasons = [error["reason"] for error in result["errors"]]
    assert "NO-SUCH-CHECKPOINT" in reasons[0] and "rtsp-ish" in reasons[1] and "20" in reasons[2]
    device = session.scalars(select(Device).where(Device.code == "44130200001190000077")).one()
    assert device.kind == "gat1400" and device.digest_ha1 and device.tollgate_id == "44130200001210000077"

    exported = client.get("/api/v1/registry.csv", headers=admin)
    assert exported.status_code == 200 and "pw-1" not in exported.text and "pw-of-77" not in exported.text
    assert "rtsp://ops:***@10.9.0.1/main" in exported.text
    again = client.post("/api/v1/registry/import", content=exported.content,
                        headers={**admin, "Content-Type": "text/csv"}).json()
    assert (again["added"], again["changed"], again["errors"]) == (0, 0, [])  # the export re-imports as is
    feed = session.scalars(select(Feed).where(Feed.source.like("rtsp://ops:%"))).one()
    assert feed.source == "rtsp://ops:pw-1@10.9.0.1/main"  # *** kept the stored password
    first, second = session.scalars(select(AuditEntry).where(AuditEntry.action == "registry.import")
                                    .order_by(AuditEntry.id.desc()).limit(2)).all()[::-1]  # this test's two
    assert [(c["line"], c["action"]) for c in first.detail["changes"]] == [(2, "added"), (3, "added")]
    assert "pw-1" not in str(first.detail) and second.detail["changes"] == []
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "registry.export")).first()


def test_the_cli_imports_and_reports_a_bad_row_by_line(engine: Engine, sessions: sessionmaker[Session],
                                                        tmp_path: Path) -> None:
    with sessions() as db:
        code = first_checkpoint(db).code
    source = f"rtsp://cli:pw@10.77.0.{secrets.randbelow(250)}/main"
    csv_file = tmp_path / "registry.csv"
    csv_file.write_text(CSV_HEADER + f"{code},2,out,rtsp,,,{source},udp,,,,1\n"
                        + f"{code},99,in,rtsp,,,rtsp://10.0.0.1/x,,,,,1\n", encoding="utf-8")
    env = {**os.environ, "CHECKPOINT_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    done = subprocess.run([sys.executable, "-m", "checkpoint", "capture", "registry-import", str(csv_file)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        assert done.returncode == 1, done.stderr
        assert "line 3:" in done.stderr and "99" in done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1])["added"] == 1
        exported = subprocess.run([sys.executable, "-m", "checkpoint", "capture", "registry-export"], env=env,
                                  capture_output=True, text=True, timeout=120, check=True).stdout
        assert f"{code},2,out,rtsp" in exported and "cli:***@" in exported and ":pw@" not in exported
    finally:
        with sessions() as db:
            db.execute(delete(Feed).where(Feed.source == source))
            db.commit()
