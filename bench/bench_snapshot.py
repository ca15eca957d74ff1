"""Snapshot mode end to end: real photos pushed over HTTP -> LPR processes -> passes stored.

    python -m bench.bench_snapshot --rate 30 --seconds 30 --processes 2

Starts, on a fresh database (CHECKPOINT_BENCH_DATABASE_URL's server, default the test server)
and a redis-server of its own: the API under uvicorn (one process, as `checkpoint serve`), the
passes writer, and a SnapshotPool of `processes` LPR processes. Snapshot devices (one per
checkpoint) push the real CCPD scenes of ../shared/data (720x1160 JPEGs, each photo at most once
per device, so the repeat window drops nothing) at `rate` a second in all. Reported:
- snapshots/s end to end: pushed snapshots divided by the time from the first push until every
  one was read (a pass stored, or no plate);
- push -> stored p50/p99: from starting the POST to the pass's PassEvent on `checkpoint:passes`;
- the reference, measured in the same run before and after: LPR alone (decode + engine.read)
  on the same photos in `processes` processes, photos/s.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis as redis_lib
from sqlalchemy import select

from bench.bench_ingest import ADMIN_URL, ROOT, _free_port, _wait_for_http, listen, pct
from bench.pushing import PacedPusher
from bench.scratch import ScratchDatabase
from checkpoint.capture import service
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.capture.snapshot_worker import GROUP, SnapshotPool
from checkpoint.capture.snapshots import SNAPSHOTS_STREAM
from checkpoint.core.config import Settings
from checkpoint.core.db import Database
from checkpoint.passes.record import PassEvent
from checkpoint.runtime import prepare_database
from checkpoint.sites.models import Checkpoint

SCENES = ROOT.parent / "shared" / "data" / "plates-dev" / "ccpd_scenes"


def load_photos() -> list[tuple[bytes, str]]:
    with (SCENES / "labels.csv").open(encoding="utf-8") as handle:
        return [((SCENES / row["file"]).read_bytes(), row["plate"]) for row in csv.DictReader(handle)]


def _lpr_only(photos: list[bytes], start: Any, done: Any) -> None:
    import cv2
    import numpy as np

    from checkpoint.lpr import make_plate_engine

    engine = make_plate_engine()

    def decode(raw: bytes) -> Any:
        return cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)

    engine.read(decode(photos[0]))  # warm-up
    start.wait()
    for raw in photos:
        engine.read(decode(raw))
    done.put(len(photos))


def lpr_only_rate(photos: list[bytes], processes: int) -> float:
    """Photos/s of decode + plate reading alone, the photos split over `processes` processes."""
    context = mp.get_context("spawn")
    start, done = context.Event(), context.Queue()
    workers = [context.Process(target=_lpr_only, args=(photos[index::processes], start, done))
               for index in range(processes)]
    for worker in workers:
        worker.start()
    time.sleep(3.0)  # engines loaded and warmed
    began = time.monotonic()
    start.set()
    total = sum(int(done.get(timeout=600)) for _ in workers)
    elapsed = time.monotonic() - began
    for worker in workers:
        worker.join()
    return total / elapsed


class SnapshotPusher(PacedPusher):
    """One snapshot camera: pushes each photo at most once, recording which plate it shows."""

    def __init__(self, port: int, key: str, rate: float, until: float, photos: list[tuple[bytes, str]],
                 offset: int, sent: dict[str, tuple[float, str]], errors: list[str], push_s: list[float]) -> None:
        super().__init__(port, key, rate, until, errors, push_s)
        self.photos, self.offset, self.sent = photos, offset, sent

    def more(self, index: int) -> bool:
        return index < len(self.photos)

    def push(self, index: int) -> tuple[str, bytes, str]:
        raw, _plate = self.photos[(self.offset + index) % len(self.photos)]
        query = f"lane=1&direction=in&taken_at={datetime.now(UTC).isoformat().replace('+', '%2B')}"
        return f"/api/v1/ingest/snapshots?{query}", raw, "image/jpeg"

    def accepted(self, index: int, reply: Any, started: float) -> None:
        self.sent[reply["snapshot_id"]] = (started, self.photos[(self.offset + index) % len(self.photos)][1])


def all_read(bus: redis_lib.Redis) -> bool:
    stream: Any = bus.xinfo_stream(SNAPSHOTS_STREAM)
    groups: Any = bus.xinfo_groups(SNAPSHOTS_STREAM)
    group = next(g for g in groups if g["name"] == GROUP)
    return not group["pending"] and group["last-delivered-id"] == stream["last-generated-id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=30.0, help="snapshots per second, all devices together")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="LPR processes")
    args = parser.parse_args()
    photos = load_photos()
    reference_before = lpr_only_rate([raw for raw, _ in photos], args.processes)

    scratch = ScratchDatabase.create(ADMIN_URL, "checkpoint_bench_snapshot")
    url = scratch.url
    work = Path(tempfile.mkdtemp(prefix="bench-snapshot-"))
    from checkpoint.core.redis_process import RedisServer

    redis_server = RedisServer(work)
    procs: list[subprocess.Popen[bytes]] = []
    pool: SnapshotPool | None = None
    try:
        engine = Database.configure(url)
        prepare_database(Settings(database_url=url, data_dir=work), engine)
        assert Database.sessions is not None
        keys: list[str] = []
        with Database.sessions() as session:
            for checkpoint in list(session.scalars(select(Checkpoint).order_by(Checkpoint.id)))[:args.devices]:
                _device, key = service.register_device(session, DeviceCreate(
                    code=f"S-{checkpoint.code}", checkpoint=checkpoint.code, kind="snapshot"))
                keys.append(key)
            session.commit()
        bus = redis_server.client()
        port = _free_port()
        data_dir = work / "data"
        env = {**os.environ, "CHECKPOINT_DATABASE_URL": url, "CHECKPOINT_REDIS_URL": redis_server.url,
               "CHECKPOINT_DATA_DIR": str(data_dir), "CHECKPOINT_SECRET_KEY": secrets.token_urlsafe(32)}
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.bench_ingest:serving_app", "--factory",
                                       "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                                       "--no-access-log"], cwd=ROOT, env=env))
        procs.append(subprocess.Popen([sys.executable, "-m", "checkpoint.passes.cli", "writer"], cwd=ROOT, env=env,
                                      stderr=subprocess.DEVNULL))
        pool = SnapshotPool(redis_server.url, data_dir, args.processes, lazy=False)
        pool.watch(bus)
        _wait_for_http(port)
        time.sleep(3.0)  # the LPR processes have loaded their engines
        sent: dict[str, tuple[float, str]] = {}
        seen: dict[str, float] = {}
        errors: list[str] = []
        push_s: list[float] = []
        stop = threading.Event()
        listener = threading.Thread(target=listen, args=(bus, seen, stop), daemon=True)
        listener.start()
        started = time.monotonic()
        until = started + args.seconds
        pushers = [SnapshotPusher(port, key, args.rate / len(keys), until, photos, index * 7, sent, errors, push_s)
                   for index, key in enumerate(keys)]
        for pusher in pushers:
            pusher.start()
        for pusher in pushers:
            pusher.join()
        pushed_s = time.monotonic() - started
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not all_read(bus):
            time.sleep(0.05)
        read_s = time.monotonic() - started
        time.sleep(2.0)  # the writer stores the last passes
        stop.set()
        listener.join()
        stored_s = [seen[sid] - at for sid, (at, _plate) in sent.items() if sid in seen]
        events: Any = bus.xrange("checkpoint:passes")
        stored_events = [PassEvent.from_fields(fields) for _id, fields in events]
        plates = {event.pass_id: event.captured.plate for event in stored_events}
        exact = sum(plates.get(sid) == plate for sid, (_at, plate) in sent.items())
        reference_after = lpr_only_rate([raw for raw, _ in photos], args.processes)
        reference = (reference_before + reference_after) / 2
        end_to_end = len(sent) / read_s
        print(json.dumps({
            "bench": "snapshot", "rate_target": args.rate, "devices": len(keys), "processes": args.processes,
            "pushed": len(sent), "errors": len(errors), "first_error": errors[:1],
            "push_rate": round(len(sent) / pushed_s, 1), "snapshots_per_s_end_to_end": round(end_to_end, 1),
            "lpr_only_per_s": round(reference, 1),
            "lpr_only_before_after": [round(reference_before, 1), round(reference_after, 1)],
            "end_to_end_over_lpr_only": round(end_to_end / reference, 2),
            "passes_stored": len(stored_s), "plate_exact": exact,
            "push_ms_p50": round(1000 * pct(push_s, 0.5), 1), "push_ms_p99": round(1000 * pct(push_s, 0.99), 1),
            "stored_ms_p50": round(1000 * pct(stored_s, 0.5), 1),
            "stored_ms_p99": round(1000 * pct(stored_s, 0.99), 1),
            "load_1min": round(os.getloadavg()[0], 2), "machine_cores": os.cpu_count(),
        }))
    finally:
        if pool is not None:
            pool.stop()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        redis_server.stop()
        Database.dispose()
        scratch.drop()


if __name__ == "__main__":
    main()
