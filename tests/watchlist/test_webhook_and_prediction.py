"""The provincial webhook gets every new alert through the outbox, across failures and restarts;
predictions follow the road graph."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.models import User
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.models import HitAlert, WatchEntry, WebhookDelivery
from checkpoint.watchlist.predict import Predictor
from checkpoint.watchlist.webhook import backoff_s
from tests.waiting import wait_until
from tests.watchlist.conftest import headers_for, pass_event, push_pass, random_plate


class Platform:
    """A real local HTTP server standing in for the provincial platform: refuses with 503 until `accept`."""

    def __init__(self) -> None:
        self.accept = False
        self.received: list[tuple[str, bool, dict[str, Any]]] = []  # (delivery id, accepted, body)
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                platform.received.append((self.headers["X-Checkpoint-Delivery"], platform.accept, body))
                self.send_response(204 if platform.accept else 503)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def delivery_of(sessions: sessionmaker[Session], alert_plate: str) -> WebhookDelivery | None:
    with sessions() as db:
        return db.scalars(select(WebhookDelivery).join(HitAlert, HitAlert.id == WebhookDelivery.alert_id)
                          .where(HitAlert.plate == alert_plate)).first()


def test_backoff_doubles_up_to_its_limit() -> None:
    assert [backoff_s(attempts, 10.0) for attempts in (1, 2, 3, 4, 5, 60)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_an_alert_reaches_a_platform_that_fails_first_across_a_matcher_restart(
        bus: Redis, engine: Engine, servers: tuple[str, str], sessions: sessionmaker[Session],
        committed_watch: Callable[..., WatchEntry], client: TestClient, make_user: Callable[..., User]) -> None:
    platform = Platform()
    env = {**os.environ, "CHECKPOINT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "CHECKPOINT_REDIS_URL": servers[1], "CHECKPOINT_WATCHLIST__WEBHOOK_URL": platform.url}
    plate = random_plate()
    committed_watch(plate)
    with sessions() as db:
        checkpoint = db.scalars(select(Checkpoint).limit(1)).one()
        push_pass(bus, pass_event(plate, checkpoint))

    def matcher_process(name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "checkpoint.watchlist.cli", "matcher", "--consumer", name],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    first = matcher_process(f"hook-a-{secrets.token_hex(3)}")
    try:
        wait_until(lambda: (found := delivery_of(sessions, plate)) is not None and found.attempts >= 1,
                   timeout_s=30, what="a first, refused delivery")
    finally:
        first.kill()  # the process dies with the delivery still pending
        first.wait(timeout=10)
    refused = delivery_of(sessions, plate)
    assert refused is not None and refused.delivered_at is None and refused.last_status == 503
    assert refused.last_error == "HTTP 503 Service Unavailable"

    dispatcher = make_user("dispatcher")  # the status is visible while it is pending
    listed = client.get("/api/v1/watchlist/webhook/deliveries?pending_only=true", headers=headers_for(dispatcher))
    assert refused.id in [row["id"] for row in listed.json()]

    platform.accept = True
    second = matcher_process(f"hook-b-{secrets.token_hex(3)}")
    try:
        wait_until(lambda: (found := delivery_of(sessions, plate)) is not None and found.delivered_at is not None,
                   timeout_s=30, what="the delivery accepted after the restart")
    finally:
        second.terminate()
        second.wait(timeout=10)
        platform.server.shutdown()
    delivered = delivery_of(sessions, plate)
    assert delivered is not None and delivered.last_status == 204 and delivered.attempts >= 2
    # Other tests' alerts still pending in this database reach the platform too: look at this plate's.
    ours = [(delivery_id, ok, body) for delivery_id, ok, body in platform.received if body["plate"] == plate]
    accepted = [(delivery_id, body) for delivery_id, ok, body in ours if ok]
    assert accepted == [(str(delivered.id), accepted[0][1])]
    assert all(delivery_id == str(delivered.id) for delivery_id, _ok, _body in ours)


def test_predictions_reach_other_checkpoints_along_the_roads(sessions: sessionmaker[Session]) -> None:
    with sessions() as db:
        origin = db.scalars(select(Checkpoint).where(Checkpoint.edge_id.is_not(None)).order_by(Checkpoint.id)).first()
    assert origin is not None
    at = datetime.now(UTC)
    predicted = Predictor(sessions).predict(origin.id, at)
    assert 1 <= len(predicted) <= 3
    assert all(step["checkpoint_id"] != origin.id for step in predicted)
    distances = [step["distance_m"] for step in predicted]
    assert distances == sorted(distances)
    first = predicted[0]
    assert first["eta_s"] > 0 and first["basis"] in ("observed", "road speed")
    assert first["path"][0] == [origin.lon, origin.lat] and len(first["path"]) >= 2
