"""Done-when: a silent smart camera turns offline and raises an outage alert (console and webhook), cleared when
it returns; 在线率 and 完好率 over a past window are right on hand-made histories."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from checkpoint.capture import device_health, device_seen, health_report, service
from checkpoint.capture.models import Device, DeviceOutage, DeviceStateChange
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.settings_groups import IntakeSettings
from checkpoint.passes.models import Pass
from checkpoint.passes.partitions import ensure_day_partitions
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import push_body
from tests.waiting import wait_until


class Webhook:
    """A real HTTP server standing in for the duty room's alert endpoint."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  # http.server's name
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/outages"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


def new_device(session: Session, kind: str = "smart") -> tuple[Device, str]:
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    # Only this test's camera is watched: devices other tests committed are set aside in this test's
    # rolled-back transaction (they would go offline beside it).
    session.execute(update(Device).where(Device.code.not_like("HEALTH-%")).values(active=False))
    return service.register_device(session, DeviceCreate(code=f"HEALTH-{uuid.uuid4().hex[:10]}",
                                                         checkpoint=checkpoint.code, kind=kind))


def test_a_silent_smart_camera_goes_offline_raises_an_outage_and_clears_it(
        client: TestClient, session: Session, bus: redis_lib.Redis, webhook: Webhook,
        auth_headers: Callable[..., dict[str, str]]) -> None:
    device, key = new_device(session)
    intake = IntakeSettings(outage_after_s=60, outage_webhook_url=webhook.url)
    device_seen.forget_throttle()
    assert client.post("/api/v1/ingest/passes", json=push_body(device.code, images=False),
                       headers={"X-Device-Key": key}).status_code == 202
    now = datetime.now(UTC)
    result = device_health.step(session, bus, intake, now)
    assert result is not None and device.id in result.came_back and result.outages_opened == 0

    later = now + timedelta(seconds=61)  # nothing heard for longer than outage_after_s
    result = device_health.step(session, bus, intake, later)
    assert result is not None and result.went_offline == [device.id] and result.outages_opened == 1
    wait_until(lambda: webhook.received, timeout_s=5, what="the outage webhook")
    assert webhook.received[0]["event"] == "started" and webhook.received[0]["device_code"] == device.code
    outage = session.scalars(select(DeviceOutage).where(DeviceOutage.device_id == device.id)).one()
    assert outage.started_notified and outage.ended_at is None

    health = client.get("/api/v1/devices/health", headers=auth_headers("admin")).json()
    assert f"device:{device.code}" in [o["camera"] for o in health["outages"]]
    mine = [c for c in health["cameras"] if c["key"] == f"device:{device.code}"]
    assert mine[0]["state"] == "offline" and health["plan"] == {"online_rate": 0.95, "intact_rate": 0.9,
                                                                "outage_after_s": 300.0}
    assert device_health.step(session, bus, intake, later + timedelta(seconds=5)).outages_opened == 0  # type: ignore[union-attr]

    back_at = later + timedelta(seconds=30)
    device_seen.seen(bus, device.id, "push", back_at, passed=True, force=True)  # it speaks again
    result = device_health.step(session, bus, intake, back_at + timedelta(seconds=1))
    assert result is not None and result.came_back == [device.id] and result.outages_closed == 1
    assert session.get(DeviceOutage, outage.id).ended_at == back_at  # type: ignore[union-attr]
    wait_until(lambda: len(webhook.received) == 2, timeout_s=5, what="the outage-ended webhook")
    assert webhook.received[1]["event"] == "ended"
    states = session.scalars(select(DeviceStateChange.state).where(DeviceStateChange.device_id == device.id)
                             .order_by(DeviceStateChange.changed_at)).all()
    assert states == ["online", "offline", "online"]


def test_a_webhook_that_is_away_is_told_later_once(session: Session, bus: redis_lib.Redis) -> None:
    device, _key = new_device(session)
    device_seen.seen(bus, device.id, "keepalive", datetime.now(UTC) - timedelta(seconds=120), force=True)
    away = IntakeSettings(outage_after_s=60, outage_webhook_url="http://127.0.0.1:9/nobody-listens")
    assert device_health.step(session, bus, away).went_offline == [device.id]  # type: ignore[union-attr]
    outage = session.scalars(select(DeviceOutage).where(DeviceOutage.device_id == device.id)).one()
    assert outage.started_notified is False  # kept to tell later
    hook = Webhook()
    try:
        device_health.step(session, bus, IntakeSettings(outage_after_s=60, outage_webhook_url=hook.url))
        device_health.step(session, bus, IntakeSettings(outage_after_s=60, outage_webhook_url=hook.url))
        assert [event["event"] for event in hook.received if event["device_code"] == device.code] == ["started"]
    finally:
        hook.server.shutdown()


T0 = datetime(2021, 3, 1, tzinfo=UTC)  # a past window of its own: [T0, T0 + 24 h)


def test_rates_over_a_past_window_on_hand_made_histories(session: Session, bus: redis_lib.Redis) -> None:
    a, b, c = (new_device(session)[0] for _ in range(3))
    for device in (a, b, c):
        device.created_at = T0 - timedelta(days=30)  # registered long before the window
    history = [(a, T0 - timedelta(hours=1), "online"), (a, T0 + timedelta(hours=6), "offline"),
               (a, T0 + timedelta(hours=9), "online"),  # 21 of 24 h online
               (b, T0 + timedelta(hours=12), "online"),  # unknown before: 12 of 24 h
               (c, T0 - timedelta(days=2), "online"),  # the whole window
               (c, T0 + timedelta(hours=30), "offline")]  # after the window: not counted
    session.add_all([DeviceStateChange(device_id=d.id, changed_at=at, state=state) for d, at, state in history])
    checkpoint = session.get(Checkpoint, a.checkpoint_id)
    assert checkpoint is not None
    ensure_day_partitions(session.connection(), T0.date(), (T0 + timedelta(days=1)).date())
    plates = {a: [f"粤L1234{i}" for i in range(9)] + ["粤L12"], c: ["粤L5678A", "粤L5678B", "粤L5", "L5"]}
    session.add_all([Pass(id=uuid.uuid4(), captured_at=T0 + timedelta(hours=10, minutes=i), plate=plate,
                          checkpoint_id=checkpoint.id, device_id=d.id, lat=checkpoint.lat, lon=checkpoint.lon)
                     for d, listed in plates.items() for i, plate in enumerate(listed)])
    session.flush()
    intake = IntakeSettings(intact_online_share=0.85, intact_read_share=0.8)
    cameras = health_report.camera_health(session, bus, T0, T0 + timedelta(hours=24), intake)
    mine = {camera.key: camera for camera in cameras if camera.key in {f"device:{d.code}" for d in (a, b, c)}}
    ra, rb, rc = (mine[f"device:{d.code}"] for d in (a, b, c))
    assert (ra.online_rate, rb.online_rate, rc.online_rate) == (0.875, 0.5, 1.0)
    assert (ra.passes, ra.read_share, rc.passes, rc.read_share, rb.read_share) == (10, 0.9, 4, 0.5, None)
    assert (ra.intact, rb.intact, rc.intact) == (True, False, False)  # b: half offline; c: plates unread
    assert (ra.state, rc.state) == ("online", "degraded")  # c is online but reads too few plates
    network = health_report.rates(list(mine.values()))
    assert network == health_report.Rates(cameras=3, online_rate=round((0.875 + 0.5 + 1.0) / 3, 4),
                                          intact_rate=round(1 / 3, 4))
    by_checkpoint = health_report.rates_by(list(mine.values()), "checkpoint_code")
    assert by_checkpoint[checkpoint.code] == network
    assert health_report.rates_by(list(mine.values()), "district")[checkpoint.district_name] == network
