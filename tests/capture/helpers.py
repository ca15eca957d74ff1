"""Builders for pushed pass records and their JPEGs."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.passes.record import CapturedPass

PROVINCES = "粤湘赣桂闽"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def random_plate() -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(4))
    return f"{secrets.choice(PROVINCES)}{secrets.choice(LETTERS)}{secrets.choice(LETTERS)}{digits}"


def jpeg(width: int = 320, height: int = 180, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (9, 9), 0)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(buf.tobytes())


def png() -> bytes:
    ok, buf = cv2.imencode(".png", np.zeros((20, 20, 3), np.uint8))
    assert ok
    return bytes(buf.tobytes())


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def push_body(device_code: str, *, plate: str | None = None, when: datetime | None = None, lane: int = 1,
              direction: str = "in", images: bool = True, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_id": device_code, "plate_no": plate or random_plate(), "plate_colour": "blue",
        "plate_confidence": 0.97, "lane_no": lane, "direction": direction,
        "pass_time": (when or datetime.now(UTC)).isoformat(), "speed": 62.5,
    }
    if images:
        body["images"] = [{"type": "scene", "data": b64(jpeg())}, {"type": "plate", "data": b64(jpeg(96, 32, 1))}]
    body.update(extra)
    return body


def captured(checkpoint_id: int, *, when: datetime | None = None, plate: str | None = None) -> CapturedPass:
    return CapturedPass(checkpoint_id=checkpoint_id, plate=plate or random_plate(),
                        captured_at=when or datetime.now(UTC), plate_colour="blue", lane=1, direction="in",
                        speed_kmh=50.0, source="test")


def entries(bus: Any, stream: str) -> list[tuple[str, dict[str, str]]]:
    """A stream's entries as plain strings (the bus decodes responses; the redis stubs do not know it)."""
    found: list[tuple[str, dict[str, str]]] = bus.xrange(stream)
    return found


def register_device(session: Session) -> tuple[str, str]:
    """(code, API key) of a smart camera at the first checkpoint, registered in the test's transaction."""
    from checkpoint.capture import service
    from checkpoint.capture.schemas import DeviceCreate
    from checkpoint.sites.models import Checkpoint

    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    registered, key = service.register_device(
        session, DeviceCreate(code=f"DEV-{datetime.now(UTC):%H%M%S%f}", checkpoint=checkpoint.code))
    return registered.code, key
