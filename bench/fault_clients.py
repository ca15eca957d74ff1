"""The system's outside world in a fault drill: cameras that retry, a dispatcher's live stream, a webhook receiver.

A `Camera` pushes pass records over HTTP as a smart camera does: each record has its own record id,
and a push that fails (an error status, a refused connection, a timeout) is sent again, same record
id and same body, until it is answered 202; "accepted" means answered 202. An `AlertListener` holds
the dispatcher's SSE stream as a browser's EventSource does: on a close it reconnects with
Last-Event-ID. A `WebhookReceiver` is the provincial platform: it counts each alert POSTed to it.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


class Plates:
    """Plates never handed out before in this process (粤 + letter + five characters), so no two tests share one."""

    def __init__(self, province: str = "粤") -> None:
        self.province = province
        self.used: set[str] = set()

    def next(self) -> str:
        while True:
            tail = "".join(secrets.choice("0123456789") for _ in range(4))
            plate = f"{self.province}{secrets.choice(LETTERS)}{secrets.choice(LETTERS)}{tail}"
            if plate not in self.used:
                self.used.add(plate)
                return plate

    def take(self, count: int) -> list[str]:
        return [self.next() for _ in range(count)]


def plate_crop_b64(seed: int = 1) -> str:
    """A small plate-crop JPEG, as base64 (what a camera sends beside its record)."""
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 255, (44, 140, 3), dtype=np.uint8), (9, 9), 0)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


@dataclass(frozen=True)
class PlannedPass:
    """One vehicle passing: what the camera will push for it (the same body on every retry)."""

    record_id: str
    plate: str
    lane: int
    captured_at: datetime


@dataclass(eq=False)  # a thread must stay hashable
class Camera(threading.Thread):
    """One smart camera pushing `plan` (an iterator, drawn as it goes) at `rate` records a second.

    `accepted` maps pass id -> the record answered 202; `statuses` counts every answer (0: no answer).
    Stops when the plan ends, at `until` (monotonic) for an endless plan, or when `abort` is set.
    """

    port: int
    device_code: str
    key: str
    plan: Iterator[PlannedPass]
    rate: float
    image_b64: str | None = None
    until: float = float("inf")
    abort: threading.Event = field(default_factory=threading.Event)
    timeout_s: float = 5.0
    accepted: dict[str, PlannedPass] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, daemon=True, name=f"camera-{self.device_code}")
        self._conn: http.client.HTTPConnection | None = None
        self.lock = threading.Lock()

    def body(self, record: PlannedPass) -> bytes:
        payload: dict[str, Any] = {
            "device_id": self.device_code, "record_id": record.record_id, "plate_no": record.plate,
            "plate_colour": "blue", "plate_confidence": 0.97, "lane_no": record.lane, "direction": "in",
            "pass_time": record.captured_at.isoformat(), "speed": 55.0,
            "images": [{"type": "plate", "data": self.image_b64}] if self.image_b64 else []}
        return json.dumps(payload, ensure_ascii=False).encode()

    def send(self, body: bytes) -> tuple[int, Any]:
        """One attempt; (status, reply) with status 0 for no answer (refused, reset, timed out)."""
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
            self._conn.request("POST", "/api/v1/ingest/passes", body=body,
                               headers={"X-Device-Key": self.key, "Content-Type": "application/json"})
            response = self._conn.getresponse()
            raw = response.read()
            if response.status == 202:
                return 202, json.loads(raw)
            if response.getheader("connection", "").lower() == "close":
                self._drop()
            return response.status, raw[:300]
        except (OSError, http.client.HTTPException, ValueError):
            self._drop()
            return 0, None

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def push(self, record: PlannedPass) -> bool:
        """Push one record until it is accepted (or the camera is aborted); True when accepted."""
        body, backoff_s = self.body(record), 0.1
        while not self.abort.is_set():
            status, reply = self.send(body)
            with self.lock:
                self.statuses[status] += 1
            if status == 202:
                with self.lock:
                    self.accepted[str(reply["pass_id"])] = record
                return True
            if 400 <= status < 500 and status not in (408, 429):
                raise AssertionError(f"camera {self.device_code}: push refused with {status}: {reply!r}")
            self.retries += 1
            self.abort.wait(backoff_s)
            backoff_s = min(backoff_s * 2, 1.0)
        return False

    def run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic() + secrets.randbelow(1000) / 1000 * interval
        while not self.abort.is_set() and next_at <= self.until:
            self.abort.wait(max(0.0, next_at - time.monotonic()))
            record = next(self.plan, None)  # drawn when due, so its capture time is the push's
            if record is None:
                break
            self.push(record)
            next_at = max(next_at + interval, time.monotonic() - 1.0)  # behind after an outage: catch up, no burst
        self._drop()


def planned(device_code: str, plates: Iterator[str] | list[str], lanes: int = 4) -> Iterator[PlannedPass]:
    """A camera's records: one per plate, numbered, captured when drawn (so at the push's time)."""
    for number, plate in enumerate(plates, start=1):
        yield PlannedPass(f"{device_code}-{number}", plate, 1 + number % lanes, datetime.now(UTC))


class WebhookReceiver:
    """The provincial platform on 127.0.0.1: answers 200 to every POST and counts alert ids."""

    def __init__(self) -> None:
        self.received: Counter[int] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    alert_id = int(json.loads(raw)["id"])
                except (ValueError, KeyError, TypeError):
                    self.send_response(400)
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.received[alert_id] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook-receiver")
        self.thread.start()

    def counts(self) -> Counter[int]:
        with self.lock:
            return Counter(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class AlertListener(threading.Thread):
    """A dispatcher's live stream: reconnects with Last-Event-ID like EventSource; counts events per alert id.

    `arrivals` keeps when each alert's first event arrived (time.time(), to compare with capture times);
    `pause()` drops the connection and stays away until `resume()` (a console closed for a while).
    """

    def __init__(self, port: int, token: str) -> None:
        super().__init__(daemon=True, name="alert-listener")
        self.port, self.token = port, token
        self.last_event_id: str | None = None
        self.events: Counter[int] = Counter()
        self.arrivals: dict[int, float] = {}
        self.pass_of: dict[int, str] = {}
        self.connects = 0
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.online = threading.Event()
        self.online.set()
        self.connected = threading.Event()
        self._sock: socket.socket | None = None

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.online.wait()
            if self.stop_event.is_set():
                return
            try:
                self._listen()
            except (OSError, http.client.HTTPException, ValueError):
                pass
            self.connected.clear()
            self.stop_event.wait(0.2)  # EventSource's `retry: 1000`, shortened for the drills

    def _listen(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        try:
            conn.request("GET", "/api/v1/watchlist/alerts/stream", headers=headers)
            response = conn.getresponse()
            if response.status != 200:
                return
            self._sock = conn.sock
            self.connects += 1
            event_id: str | None = None
            data: str | None = None
            while self.online.is_set() and not self.stop_event.is_set():
                line = response.readline()
                if not line:
                    return
                text = line.decode().rstrip("\r\n")
                if text.startswith("retry:") or text.startswith(":"):
                    self.connected.set()
                elif text.startswith("id:"):
                    event_id = text[3:].strip()
                elif text.startswith("data:"):
                    data = text[5:].strip()
                elif text == "":
                    if data is not None:
                        self._event(data)
                    if event_id is not None:
                        self.last_event_id = event_id
                    event_id = data = None
        finally:
            self._sock = None
            conn.close()

    def _event(self, data: str) -> None:
        alert = json.loads(data)
        alert_id = int(alert["id"])
        with self.lock:
            self.events[alert_id] += 1
            self.arrivals.setdefault(alert_id, time.time())
            self.pass_of.setdefault(alert_id, str(alert.get("pass_id")))

    def counts(self) -> Counter[int]:
        with self.lock:
            return Counter(self.events)

    def pause(self) -> None:
        self.online.clear()
        self._shutdown_socket()

    def resume(self) -> None:
        self.online.set()

    def close(self) -> None:
        self.stop_event.set()
        self.online.set()
        self._shutdown_socket()

    def _shutdown_socket(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
