"""A plate that grows past the pass table's length when normalised is refused at ingest, not lost later."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture import service
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.bus import READS_STREAM
from checkpoint.lpr import normalize_plate
from checkpoint.passes.models import PLATE_MAX_CHARS
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import push_body


@pytest.fixture
def device_key(session: Session) -> Iterator[tuple[str, str]]:
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    registered, key = service.register_device(
        session, DeviceCreate(code=f"DEV-{datetime.now(UTC):%H%M%S%f}", checkpoint=checkpoint.code))
    yield registered.code, key


def test_a_plate_that_normalises_past_its_length_is_a_422(client: TestClient, bus: redis_lib.Redis,
                                                          device_key: tuple[str, str]) -> None:
    code, key = device_key
    plate = "粤A㍿㍿㍿㍿"  # 6 characters as typed, 18 after NFKC (each ㍿ is 株式会社)
    assert len(normalize_plate(plate)) > PLATE_MAX_CHARS
    before = bus.xlen(READS_STREAM) if bus.exists(READS_STREAM) else 0
    response = client.post("/api/v1/ingest/passes", json=push_body(code, plate=plate, images=False),
                           headers={"X-Device-Key": key})
    assert response.status_code == 422, response.text
    assert "规范化" in response.json()["detail"]
    assert (bus.xlen(READS_STREAM) if bus.exists(READS_STREAM) else 0) == before  # nothing queued to be lost
