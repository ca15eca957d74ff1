"""The provincial webhook receives new alerts as JSON; predictions follow the road graph."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.predict import Predictor
from checkpoint.watchlist.webhook import Webhook


def test_the_webhook_posts_the_alert_json() -> None:
    received: list[dict[str, object]] = []
    arrived = threading.Event()

    class Platform(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            arrived.set()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
            pass

    server = HTTPServer(("127.0.0.1", 0), Platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = Webhook(f"http://127.0.0.1:{server.server_address[1]}/alerts", timeout_s=5)
    webhook.send(json.dumps({"id": 7, "plate": "粤L12345"}, ensure_ascii=False))
    assert arrived.wait(10)
    webhook.close()
    server.shutdown()
    assert received == [{"id": 7, "plate": "粤L12345"}]


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
