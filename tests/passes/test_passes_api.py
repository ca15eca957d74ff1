"""Recent passes and pass images, for the roles that may see them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture import service
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.bus import READS_STREAM
from checkpoint.passes import partitions, store
from checkpoint.passes.record import CapturedPass
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import entries, push_body


def test_a_pushed_pass_is_listed_and_its_images_served(client: TestClient, session: Session, bus: redis_lib.Redis,
                                                       auth_headers: Callable[..., dict[str, str]]) -> None:
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc())).first()
    assert checkpoint is not None
    code = f"API-{datetime.now(UTC):%H%M%S%f}"
    _device, key = service.register_device(session, DeviceCreate(code=code, checkpoint=checkpoint.code))
    when = datetime.now(UTC) + timedelta(seconds=30)  # newest in the list
    response = client.post("/api/v1/ingest/passes", json=push_body(code, when=when, plate="粤L88888"),
                           headers={"X-Device-Key": key})
    pass_id = response.json()["pass_id"]
    # store it as the writer does, in the test's transaction (rolled back afterwards)
    [(_msg_id, fields)] = entries(bus, READS_STREAM)
    partitions.ensure_day_partitions(session.connection(), when.date(), when.date())
    store.insert_passes(session.connection().connection.dbapi_connection, [CapturedPass.from_fields(fields)],
                        {checkpoint.id: (checkpoint.lat, checkpoint.lon)}, datetime.now(UTC))

    viewer = auth_headers("dispatcher")
    recent = client.get("/api/v1/passes/recent", params={"checkpoint": checkpoint.code, "limit": 5}, headers=viewer)
    assert recent.status_code == 200, recent.text
    newest = recent.json()[0]
    assert newest["id"] == pass_id and newest["plate"] == "粤L88888" and newest["checkpoint_code"] == checkpoint.code
    assert newest["has_scene"] and newest["has_plate"]
    image = client.get(f"/api/v1/passes/{pass_id}/images/plate", headers=auth_headers("investigator"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content[:3] == b"\xff\xd8\xff"
    assert client.get(f"/api/v1/passes/{pass_id}/images/plate", headers=auth_headers("planner")).status_code == 403
    assert client.get(f"/api/v1/passes/{pass_id}/images/plate").status_code == 401
    assert client.get(f"/api/v1/passes/{pass_id}/images/face", headers=viewer).status_code == 422
    missing = client.get("/api/v1/passes/00000000-0000-0000-0000-000000000000/images/scene", headers=viewer)
    assert missing.status_code == 404 and missing.json()["reason"] == "unknown-pass"
    assert client.get("/api/v1/passes/recent", params={"checkpoint": "NOPE"}, headers=viewer).status_code == 404
