"""Pushing devices' keys are looked up again in the background before their cache entry runs out."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture import api, service
from checkpoint.capture.key_refresh import KeyRefresher
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.errors import NotAuthenticated
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import push_body


def test_a_key_is_looked_up_again_once_due_in_a_worker_thread_and_once_only() -> None:
    looked_up_in: list[int] = []

    async def pushes() -> int:
        refresher = KeyRefresher(after_s=(0.0, 0.0))
        refresher.cached_hit("ck_a", lambda: looked_up_in.append(threading.get_ident()))  # first seen: due from now
        for _ in range(3):
            refresher.cached_hit("ck_a", lambda: looked_up_in.append(threading.get_ident()))
            await asyncio.sleep(0.05)
        return threading.get_ident()

    loop_thread = asyncio.run(pushes())
    assert len(looked_up_in) == 3 and loop_thread not in looked_up_in


def test_a_key_not_due_yet_is_not_looked_up() -> None:
    calls: list[str] = []

    async def pushes() -> None:
        refresher = KeyRefresher()  # due after 7-9 s
        for _ in range(5):
            refresher.cached_hit("ck_b", lambda: calls.append("looked up"))
        await asyncio.sleep(0.05)

    asyncio.run(pushes())
    assert calls == []


def test_a_refused_refresh_is_quiet_and_leaves_the_push_alone(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def refused() -> None:
        calls.append("looked up")
        raise NotAuthenticated("the device key is unknown or the device is disabled")

    async def pushes() -> list[object]:
        refresher = KeyRefresher(after_s=(0.0, 0.0))
        refresher.cached_hit("ck_c", refused)  # first seen: due from now
        refresher.cached_hit("ck_c", refused)  # due: looked up in the background, and refused
        running = list(refresher._running)
        return await asyncio.gather(*running, return_exceptions=True)

    with caplog.at_level(logging.WARNING, logger="checkpoint.capture.key_refresh"):
        outcomes = asyncio.run(pushes())
    assert calls == ["looked up"]
    assert outcomes == [None]  # nothing escaped the background task
    assert caplog.records == []  # a refusal is expected news, not a warning


class RecordingRefresher(KeyRefresher):
    """Notes which keys the push route offered for a refresh (and never refreshes: the test's session is
    not to be used from a second thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.offered: list[str] = []

    def cached_hit(self, api_key: str, look_up: Callable[[], object]) -> None:
        self.offered.append(api_key)


def test_pushes_served_from_the_cache_offer_their_key_for_a_refresh(client: TestClient, session: Session) -> None:
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    device, key = service.register_device(session, DeviceCreate(code=f"KEYS-{id(session)}", checkpoint=checkpoint.code))
    recording = RecordingRefresher()
    saved, api.key_refresher = api.key_refresher, recording
    try:
        for _ in range(3):
            response = client.post("/api/v1/ingest/passes", json=push_body(device.code, images=False),
                                   headers={"X-Device-Key": key})
            assert response.status_code == 202, response.text
        assert recording.offered == [key, key]  # the first push looked the key up; the next two hit the cache
    finally:
        api.key_refresher = saved


def test_a_first_lookup_loads_every_active_device_at_once(session: Session) -> None:
    """Devices start together: the first push of a process loads all active keys, not one each."""
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    made = [service.register_device(session, DeviceCreate(code=f"BULK-{n}-{id(session)}", checkpoint=checkpoint.code))
            for n in range(3)]
    (_first, first_key), (_second, second_key), (third, third_key) = made
    service.set_device_active(session, third.id, False)  # also empties the cache
    assert service.cached_device(second_key) is None
    assert service.authenticate_device(session, first_key).code == made[0][0].code
    cached = service.cached_device(second_key)
    assert cached is not None and cached.code == made[1][0].code  # loaded with the first, never asked for
    assert service.cached_device(third_key) is None  # a disabled device is not loaded
    with pytest.raises(NotAuthenticated):
        service.authenticate_device(session, third_key)
