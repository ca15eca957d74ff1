"""A plate that grows past the pass table's length when normalised is refused at ingest, not lost later."""

from __future__ import annotations

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from checkpoint.core.bus import READS_STREAM
from checkpoint.lpr import normalize_plate
from checkpoint.passes.models import PLATE_MAX_CHARS
from tests.capture.helpers import push_body, register_device


@pytest.fixture
def device_key(session: Session) -> tuple[str, str]:
    return register_device(session)


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
