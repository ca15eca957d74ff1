"""Smart-camera mode over HTTP: 120 devices pushing 480 passes/s; push -> stored latency and CPU.

    python -m bench.bench_ingest --rate 480 --seconds 30 --images full

Starts, on a fresh database (CHECKPOINT_BENCH_DATABASE_URL's server, default the test server)
and a redis-server of its own (appendonly, as embedded): the API under uvicorn (one process, as
`checkpoint serve`) and the passes writer (`python -m checkpoint.passes.cli writer`). One
registered device per checkpoint pushes `rate / devices` passes a second on a keep-alive
connection. "stored" is the time from starting the push to seeing the pass's PassEvent on
`checkpoint:passes`, which the writer appends after its commit. CPU is the seconds each server
process used during the run, divided by the run's length (1.0 = one core busy). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil
import redis as redis_lib
from sqlalchemy import select

from bench.pushing import PacedPusher
from bench.scratch import ScratchDatabase
from checkpoint.capture import service
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.bus import PASSES_STREAM
from checkpoint.core.config import Settings
from checkpoint.core.db import Database
from checkpoint.passes.record import PassEvent
from checkpoint.runtime import prepare_database
from checkpoint.sites.models import Checkpoint

ADMIN_URL = os.environ.get("CHECKPOINT_BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]


def make_jpeg(width: int, height: int, quality: int) -> str:
    rng = np.random.default_rng(width)
    image = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (21, 21), 0)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def images_json(kind: str) -> str:
    if kind == "none":
        return "[]"
    plate = {"type": "plate", "data": make_jpeg(140, 44, 85)}
    if kind == "plate":
        return json.dumps([plate])
    return json.dumps([{"type": "scene", "data": make_jpeg(1920, 1080, 75)}, plate])


class Pusher(PacedPusher):
    """One smart camera: pushes pass records of random plates on its 4 lanes."""

    def __init__(self, port: int, code: str, key: str, rate: float, until: float, images: str,
                 sent: dict[str, float], errors: list[str], push_s: list[float]) -> None:
        super().__init__(port, key, rate, until, errors, push_s)
        self.code, self.images, self.sent = code, images, sent

    def push(self, index: int) -> tuple[str, bytes, str]:
        number = index + 1
        body = (f'{{"device_id": "{self.code}", "record_id": "{self.code}-{number}", '
                f'"plate_no": "粤L{secrets.randbelow(100000):05d}", "plate_colour": "blue", "lane_no": '
                f'{1 + number % 4}, "direction": "in", "pass_time": "{datetime.now(UTC).isoformat()}", '
                f'"speed": 55.0, "images": {self.images}}}').encode()
        return "/api/v1/ingest/passes", body, "application/json"

    def accepted(self, index: int, reply: Any, started: float) -> None:
        self.sent[reply["pass_id"]] = started


def listen(bus: redis_lib.Redis, seen: dict[str, float], stop: threading.Event) -> None:
    last = "0"
    while not stop.is_set():
        reply: Any = bus.xread({PASSES_STREAM: last}, count=1000, block=200)
        now = time.monotonic()
        for _stream, items in reply or []:
            for msg_id, fields in items:
                seen.setdefault(PassEvent.from_fields(fields).pass_id, now)
                last = msg_id


def cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=480.0, help="passes per second, all devices together")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--devices", type=int, default=120)
    parser.add_argument("--images", choices=["full", "plate", "none"], default="full",
                        help="full: 1920x1080 scene + plate crop; plate: crop only; none")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn worker processes for the API")
    args = parser.parse_args()

    scratch = ScratchDatabase.create(ADMIN_URL, "checkpoint_bench_ingest")
    url = scratch.url
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    from checkpoint.core.redis_process import RedisServer

    redis_server = RedisServer(work)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        engine = Database.configure(url)
        prepare_database(Settings(database_url=url, data_dir=work), engine)
        assert Database.sessions is not None
        keys: list[tuple[str, str]] = []
        with Database.sessions() as session:
            for checkpoint in list(session.scalars(select(Checkpoint).order_by(Checkpoint.id)))[:args.devices]:
                device, key = service.register_device(session, DeviceCreate(code=f"B-{checkpoint.code}",
                                                                            checkpoint=checkpoint.code))
                keys.append((device.code, key))
            session.commit()
        bus = redis_server.client()
        port = _free_port()
        env = {**os.environ, "CHECKPOINT_DATABASE_URL": url, "CHECKPOINT_REDIS_URL": redis_server.url,
               "CHECKPOINT_DATA_DIR": str(work / "data"), "CHECKPOINT_SECRET_KEY": secrets.token_urlsafe(32)}
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.bench_ingest:serving_app", "--factory",
                                       "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                                       "--no-access-log", "--workers", str(args.api_workers)], cwd=ROOT, env=env))
        procs.append(subprocess.Popen([sys.executable, "-m", "checkpoint.passes.cli", "writer"], cwd=ROOT, env=env,
                                      stderr=subprocess.DEVNULL))
        _wait_for_http(port)
        api = psutil.Process(procs[0].pid)
        while len(api.children()) < (args.api_workers if args.api_workers > 1 else 0):
            time.sleep(0.2)  # uvicorn's supervisor starts its workers one after another
        watched = [[api, *api.children(recursive=True)], [psutil.Process(procs[1].pid)],
                   [psutil.Process(redis_server.proc.pid)]]
        postgres = [p for p in psutil.process_iter(["cmdline"]) if scratch.name in " ".join(p.info["cmdline"] or [])]
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        errors: list[str] = []
        push_s: list[float] = []
        stop = threading.Event()
        listener = threading.Thread(target=listen, args=(bus, seen, stop), daemon=True)
        listener.start()
        client = psutil.Process()  # the pushing devices and the listener: what the real devices would not cost us
        cpu_before = [cpu_s(group) for group in watched] + [cpu_s(postgres), cpu_s([client])]
        started = time.monotonic()
        until = started + args.seconds
        images = images_json(args.images)
        pushers = [Pusher(port, code, key, args.rate / len(keys), until, images, sent, errors, push_s)
                   for code, key in keys]
        for pusher in pushers:
            pusher.start()
        for pusher in pushers:
            pusher.join()
        elapsed = time.monotonic() - started
        postgres = [p for p in psutil.process_iter(["cmdline"]) if scratch.name in " ".join(p.info["cmdline"] or [])]
        cpu_after = [cpu_s(group) for group in watched] + [cpu_s(postgres), cpu_s([client])]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not set(sent) <= set(seen):
            time.sleep(0.2)
        stop.set()
        stored_s = [seen[pid] - at for pid, at in sent.items() if pid in seen]
        cpu = [round((after - before) / elapsed, 3) for before, after in zip(cpu_before, cpu_after, strict=True)]
        print(json.dumps({
            "bench": "ingest", "rate_target": args.rate, "devices": len(keys), "seconds": round(elapsed, 1),
            "images": args.images, "api_workers": args.api_workers,
            "accepted": len(sent), "errors": len(errors), "first_error": errors[:1],
            "rate_achieved": round(len(sent) / elapsed, 1), "stored": len(stored_s),
            "push_ms_p50": round(1000 * pct(push_s, 0.5), 1), "push_ms_p99": round(1000 * pct(push_s, 0.99), 1),
            "stored_ms_p50": round(1000 * pct(stored_s, 0.5), 1),
            "stored_ms_p99": round(1000 * pct(stored_s, 0.99), 1),
            "stored_ms_mean": round(1000 * statistics.fmean(stored_s), 1) if stored_s else None,
            "cpu_cores": {"api": cpu[0], "writer": cpu[1], "redis": cpu[2], "postgres": cpu[3],
                          "total": round(sum(cpu[:4]), 3), "client": cpu[4]},
            "api_cpu_ms_per_push": round(1000 * cpu[0] * elapsed / len(sent), 3) if sent else None,
            "machine_cores": os.cpu_count(),
        }))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        redis_server.stop()
        Database.dispose()
        scratch.drop()


def serving_app() -> Any:
    """The app as `checkpoint serve` runs it, on the configured (not embedded) servers."""
    from checkpoint.core.bus import Bus
    from checkpoint.core.config import get_settings
    from checkpoint.main import create_app

    settings = get_settings()
    assert settings.database_url and settings.redis_url
    Database.configure(settings.database_url)
    Bus.configure(settings.redis_url)
    return create_app()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_http(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the API did not start within 60 s")


if __name__ == "__main__":
    main()
