"""Smart cameras push pass records: accepted (202) and queued, or refused with a reason and nothing stored."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture import service
from checkpoint.capture.api import INLINE_IMAGE_CHARS
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.bus import READS_STREAM
from checkpoint.core.config import Settings
from checkpoint.passes.record import CapturedPass
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import b64, entries, jpeg, png, push_body

URL = "/api/v1/ingest/passes"


@pytest.fixture
def device(session: Session) -> Iterator[tuple[str, str, Checkpoint]]:
    """(device code, API key, checkpoint) of a device registered in the test's transaction."""
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    code = f"DEV-{datetime.now(UTC):%H%M%S%f}"
    registered, key = service.register_device(session, DeviceCreate(code=code, checkpoint=checkpoint.code))
    yield registered.code, key, checkpoint


def stream_length(bus: redis_lib.Redis) -> int:
    return int(bus.xlen(READS_STREAM)) if bus.exists(READS_STREAM) else 0


def image_files(settings: Settings) -> set[Path]:
    return set((settings.data_dir / "images").rglob("*.jpg"))


def test_a_valid_push_is_accepted_queued_and_its_images_stored(
        client: TestClient, bus: redis_lib.Redis, device: tuple[str, str, Checkpoint],
        test_settings: Settings) -> None:
    code, key, checkpoint = device
    response = client.post(URL, json=push_body(code, plate="粤l·12345"), headers={"X-Device-Key": key})
    assert response.status_code == 202, response.text
    pass_id = response.json()["pass_id"]
    [(_msg_id, fields)] = entries(bus, READS_STREAM)
    captured = CapturedPass.from_fields(fields)
    assert str(captured.pass_id) == pass_id
    assert captured.plate == "粤L12345"  # normalized
    assert captured.checkpoint_id == checkpoint.id and captured.source == "smart" and captured.speed_kmh == 62.5
    assert captured.image_path and captured.plate_image_path
    scene = test_settings.data_dir / captured.image_path
    assert scene.read_bytes()[:3] == b"\xff\xd8\xff"
    assert f"/{checkpoint.code}/{pass_id}_scene_" in captured.image_path  # id- and content-addressed


def test_a_retried_record_keeps_its_pass_id(client: TestClient, device: tuple[str, str, Checkpoint]) -> None:
    code, key, _ = device
    body = push_body(code, record_id="R-000042", images=False)
    first = client.post(URL, json=body, headers={"X-Device-Key": key}).json()["pass_id"]
    assert client.post(URL, json=body, headers={"X-Device-Key": key}).json()["pass_id"] == first


@pytest.mark.parametrize("headers", [{}, {"X-Device-Key": "ck_wrong"}, {"Authorization": "Bearer x"}])
def test_a_wrong_or_missing_key_gets_401(client: TestClient, bus: redis_lib.Redis,
                                         device: tuple[str, str, Checkpoint], headers: dict[str, str]) -> None:
    response = client.post(URL, json=push_body(device[0]), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert stream_length(bus) == 0


def test_a_disabled_device_gets_401(client: TestClient, session: Session, bus: redis_lib.Redis,
                                    device: tuple[str, str, Checkpoint]) -> None:
    code, key, _ = device
    [registered] = [d for d in service.list_devices(session) if d.code == code]
    service.set_device_active(session, registered.id, False)
    assert client.post(URL, json=push_body(code), headers={"X-Device-Key": key}).status_code == 401
    assert stream_length(bus) == 0


def _refused(client: TestClient, key: str, reason_part: str, **kwargs: object) -> None:
    response = client.post(URL, headers={"X-Device-Key": key, "Content-Type": "application/json"}, **kwargs)  # type: ignore[arg-type]  # httpx's keyword types
    assert response.status_code == 422, response.text
    assert reason_part in response.json()["detail"]


def test_malformed_json_gets_422_with_the_reason(client: TestClient, bus: redis_lib.Redis,
                                                  device: tuple[str, str, Checkpoint],
                                                  test_settings: Settings) -> None:
    code, key, _ = device
    before = image_files(test_settings)
    _refused(client, key, "JSON", content=b'{"device_id": "x", "plate_no": ')
    missing = push_body(code)
    del missing["plate_no"]
    _refused(client, key, "plate_no", json=missing)
    _refused(client, key, "lane_no", json=push_body(code, lane=0))
    _refused(client, key, "plate_colour", json=push_body(code, plate_colour="purple"))
    _refused(client, key, "pass_time", json=push_body(code, pass_time="2026-11-25T10:00:00"))  # no offset
    _refused(client, key, "does not match", json=push_body("SOMEONE-ELSE"))
    _refused(client, key, "lanes", json=push_body(code, lane=9))
    assert stream_length(bus) == 0
    assert image_files(test_settings) == before


def test_an_image_that_is_not_a_jpeg_gets_422_and_nothing_is_stored(
        client: TestClient, bus: redis_lib.Redis, device: tuple[str, str, Checkpoint],
        test_settings: Settings) -> None:
    code, key, _ = device
    before = image_files(test_settings)
    good = {"type": "scene", "data": b64(jpeg())}
    for bad, reason in [(b64(png()), "not a JPEG"), ("%%%not-base64%%%", "base64"),
                        (b64(jpeg()[:200]), "does not decode"), (b64(b"\xff\xd8\xff" + b"\0" * 500), "decode")]:
        body = push_body(code, images=False)
        body["images"] = [good, {"type": "plate", "data": bad}]
        _refused(client, key, reason, json=body)
    assert stream_length(bus) == 0
    assert image_files(test_settings) == before


def test_a_time_far_in_the_future_gets_422(client: TestClient, bus: redis_lib.Redis,
                                           device: tuple[str, str, Checkpoint]) -> None:
    code, key, _ = device
    _refused(client, key, "future", json=push_body(code, when=datetime.now(UTC) + timedelta(hours=1)))
    _refused(client, key, "older", json=push_body(code, when=datetime.now(UTC) - timedelta(days=40)))
    ok = push_body(code, when=datetime.now(UTC) + timedelta(minutes=1), images=False)  # small clock drift
    assert client.post(URL, json=ok, headers={"X-Device-Key": key}).status_code == 202
    assert stream_length(bus) == 1


def test_admins_register_list_and_disable_devices(client: TestClient, bus: redis_lib.Redis,
                                                  auth_headers: Callable[..., dict[str, str]]) -> None:
    admin = auth_headers("admin")
    body: dict[str, Any] = {"code": f"CAM-{datetime.now(UTC):%H%M%S%f}", "checkpoint": "HZ-441302-01", "lanes": [1, 2],
            "direction": "in"}
    created = client.post("/api/v1/devices", json=body, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    assert key.startswith("ck_") and len(key) > 40
    listed = client.get("/api/v1/devices", headers=admin).json()
    assert body["code"] in [d["code"] for d in listed] and all("api_key" not in d for d in listed)
    assert client.post("/api/v1/devices", json=body, headers=admin).status_code == 409
    bad = client.post("/api/v1/devices", json={**body, "code": "X-NOPE", "checkpoint": "NOPE"}, headers=admin)
    assert bad.status_code == 404
    push = push_body(body["code"], images=False, lane=2)
    assert client.post(URL, json=push, headers={"X-Device-Key": key}).status_code == 202
    assert client.post(URL, json={**push, "direction": "out"}, headers={"X-Device-Key": key}).status_code == 422
    device_id = created.json()["id"]
    assert client.patch(f"/api/v1/devices/{device_id}", json={"active": False}, headers=admin).status_code == 200
    assert client.post(URL, json=push, headers={"X-Device-Key": key}).status_code == 401


def test_a_push_with_a_large_scene_is_stored_from_a_worker_thread_and_refused_whole(
        client: TestClient, bus: redis_lib.Redis, device: tuple[str, str, Checkpoint],
        test_settings: Settings) -> None:
    """Large pushes take the thread-pool path (small ones are stored on the event loop): same outcome."""
    code, key, _ = device
    scene = b64(jpeg(1280, 720, 3))
    assert len(scene) > INLINE_IMAGE_CHARS
    before = image_files(test_settings)
    bad = push_body(code, images=False)
    bad["images"] = [{"type": "scene", "data": scene}, {"type": "plate", "data": b64(png())}]
    _refused(client, key, "not a JPEG", json=bad)
    assert stream_length(bus) == 0 and image_files(test_settings) == before
    good = push_body(code, images=False)
    good["images"] = [{"type": "scene", "data": scene}]
    response = client.post(URL, json=good, headers={"X-Device-Key": key})
    assert response.status_code == 202, response.text
    [(_msg_id, fields)] = entries(bus, READS_STREAM)
    captured = CapturedPass.from_fields(fields)
    assert str(captured.pass_id) == response.json()["pass_id"] and captured.image_path
    assert (test_settings.data_dir / captured.image_path).read_bytes() == base64.b64decode(scene)
