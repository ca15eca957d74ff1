"""A pass's identity survives cameras: a reused record id is another pass, a retry the same one, images stay."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture import service
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.bus import READS_STREAM, ensure_group
from checkpoint.core.config import Settings
from checkpoint.passes import images
from checkpoint.passes.models import Pass
from checkpoint.passes.record import CapturedPass
from checkpoint.passes.writer import GROUP as WRITER_GROUP
from checkpoint.passes.writer import PassWriter
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import b64, entries, jpeg, push_body, random_plate

URL = "/api/v1/ingest/passes"


@pytest.fixture
def device(session: Session) -> Iterator[tuple[str, str]]:
    """(device code, API key) of a smart camera registered in the test's transaction."""
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    code = f"ID-{uuid.uuid4().hex[:10]}"
    registered, key = service.register_device(session, DeviceCreate(code=code, checkpoint=checkpoint.code))
    yield registered.code, key


def push(client: TestClient, key: str, body: dict[str, Any]) -> str:
    response = client.post(URL, json=body, headers={"X-Device-Key": key})
    assert response.status_code == 202, response.text
    pass_id: str = response.json()["pass_id"]
    return pass_id


def store_all(engine: Engine, bus: redis_lib.Redis) -> None:
    """Run the passes writer until the reads stream is drained (the real writer, COPY path and all)."""
    ensure_group(bus, READS_STREAM, WRITER_GROUP)
    writer = PassWriter(engine, bus, consumer=f"t-identity-{uuid.uuid4().hex[:6]}", block_ms=10)
    while writer.step():
        pass


def rows_of(sessions: sessionmaker[Session], pass_ids: set[str]) -> dict[str, int]:
    """How many pass rows each id has, over every day partition."""
    with sessions() as db:
        found = db.execute(select(Pass.id, func.count()).where(Pass.id.in_([uuid.UUID(i) for i in pass_ids]))
                           .group_by(Pass.id)).all()
    return {str(pass_id): count for pass_id, count in found}


def with_scene(body: dict[str, Any], raw: bytes) -> dict[str, Any]:
    return {**body, "images": [{"type": "scene", "data": b64(raw)}]}


def test_a_camera_reusing_a_record_id_with_another_time_makes_another_pass(
        client: TestClient, bus: redis_lib.Redis, device: tuple[str, str], engine: Engine,
        sessions: sessionmaker[Session]) -> None:
    """A counter reset numbers new passes with old record ids, here across two day partitions."""
    code, key = device
    now = datetime.now(UTC).replace(microsecond=0)
    plate = random_plate()
    first = push(client, key, push_body(code, plate=plate, when=now, record_id="R-1"))
    next_day = push(client, key, push_body(code, plate=plate, when=now - timedelta(days=1), record_id="R-1"))
    other_plate = push(client, key, push_body(code, plate=random_plate(), when=now, record_id="R-1"))
    assert len({first, next_day, other_plate}) == 3
    store_all(engine, bus)
    assert rows_of(sessions, {first, next_day, other_plate}) == {first: 1, next_day: 1, other_plate: 1}
    paths = [CapturedPass.from_fields(fields).image_path for _, fields in entries(bus, READS_STREAM)]
    assert len(set(paths)) == 3  # three passes, three scene images


def test_an_exact_retry_is_one_pass(client: TestClient, bus: redis_lib.Redis, device: tuple[str, str],
                                    engine: Engine, sessions: sessionmaker[Session],
                                    test_settings: Settings) -> None:
    code, key = device
    when = datetime.now(UTC) - timedelta(minutes=2)
    body = push_body(code, when=when, record_id="R-7")
    first = push(client, key, body)
    assert push(client, key, body) == first
    in_beijing = when.astimezone(timezone(timedelta(hours=8))).isoformat()  # the same instant, written otherwise
    assert push(client, key, {**body, "pass_time": in_beijing}) == first
    assert push(client, key, push_body(code, when=when, record_id="R-8")) != first  # the next record
    store_all(engine, bus)
    assert rows_of(sessions, {first}) == {first: 1}
    captured = [CapturedPass.from_fields(fields) for _, fields in entries(bus, READS_STREAM)][:3]
    assert {item.pass_id for item in captured} == {uuid.UUID(first)}
    assert len({item.image_path for item in captured}) == 1  # the retries found their images stored
    stored = list((test_settings.data_dir / "images").rglob(f"{first}_*.jpg"))
    assert len(stored) == 2  # the scene and the plate crop, once each


def test_a_stored_image_is_never_overwritten(client: TestClient, bus: redis_lib.Redis, device: tuple[str, str],
                                             test_settings: Settings) -> None:
    code, key = device
    data_dir = test_settings.data_dir
    when = datetime.now(UTC).replace(microsecond=0)
    plate = random_plate()
    photo_a, photo_b = jpeg(seed=11), jpeg(seed=12)
    first = push(client, key, with_scene(push_body(code, plate=plate, when=when, record_id="R-9", images=False),
                                         photo_a))
    reset = push(client, key, with_scene(push_body(code, plate=plate, when=when + timedelta(seconds=30),
                                                   record_id="R-9", images=False), photo_b))
    # an exact retry whose camera re-encoded the photo: the same pass, but the stored photo stays
    retry = push(client, key, with_scene(push_body(code, plate=plate, when=when, record_id="R-9", images=False),
                                         photo_b))
    assert retry == first != reset
    first_path, reset_path, retry_path = [CapturedPass.from_fields(fields).image_path
                                          for _, fields in entries(bus, READS_STREAM)]
    assert first_path and reset_path and retry_path
    assert len({first_path, reset_path, retry_path}) == 3
    assert (data_dir / first_path).read_bytes() == photo_a
    assert (data_dir / reset_path).read_bytes() == photo_b
    # and underneath: a write to a taken name leaves the stored bytes alone
    assert images.write_image(data_dir, first_path, photo_b) is False
    assert (data_dir / first_path).read_bytes() == photo_a
