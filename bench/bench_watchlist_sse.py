"""Pass accepted -> alert on a dispatcher's SSE connection, at a steady pass rate with 100,000 watches.

    python -m bench.bench_watchlist_sse [--rate 2000] [--seconds 20] [--watches 100000] [--hit-every 100]

Creates a database of its own on the system PostgreSQL (dropped at the end), writes the watches
there (90 % exact, 5 % wildcard, 5 % fuzzy, as bench_watchlist), rebuilds the Redis index from it
as a starting matcher does, and serves the real app with uvicorn in a process of its own. One
matcher process (`checkpoint watchlist matcher`) consumes the pass stream and one relay process
(`checkpoint watchlist relay`) publishes the alerts outbox; one dispatcher
(whole-network scope) holds an SSE connection. A warm-up (not counted) lets the matcher load its
copy of the index and the road graph first, and lasts until the matcher has caught up. The producer appends
passes to `checkpoint:passes` at `--rate` per second (what the passes writer does after its commit);
every `--hit-every`-th is a watched plate never seen before, so each hit is a new alert. Latency is
from the XADD's return to the SSE event's arrival. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2.extras import execute_values
from redis import Redis
from sqlalchemy import make_url, select

from bench.bench_watchlist import event, make_specs, realistic_plate
from bench.scratch import ScratchDatabase
from checkpoint.core import login_sessions, users
from checkpoint.core.bus import PASSES_STREAM, Bus
from checkpoint.core.config import Settings
from checkpoint.core.db import Database
from checkpoint.runtime import prepare_database
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import index
from checkpoint.watchlist.index import WatchSpec
from checkpoint.watchlist.models import DispatcherScope
from checkpoint.watchlist.worker import GROUP

ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
SERVER = """
import sys, uvicorn
from checkpoint.core.bus import Bus
from checkpoint.core.config import get_settings
from checkpoint.core.db import Database
from checkpoint.main import create_app
settings = get_settings()
Database.configure(settings.database_url)
Bus.configure(settings.redis_url)
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False,
            timeout_graceful_shutdown=2)  # an open SSE stream would hold the shutdown forever
"""


def write_watches(url: str, specs: list[WatchSpec], requester: int, approver: int) -> None:
    rows = [(spec.id, spec.pattern, spec.mode, spec.strictness, "stolen", "benchmark", 2, "network", "{}", "{}",
             spec.valid_from, spec.valid_to, "active", requester, approver) for spec in specs]
    raw = psycopg2.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        cursor = raw.cursor()
        execute_values(cursor, "INSERT INTO watch_entry (id, pattern, match_mode, strictness, category, reason,"
                       " priority, scope_kind, scope_districts, scope_checkpoint_ids, valid_from, valid_to,"
                       " status, requested_by, approved_by, created_at) VALUES %s", rows,
                       template="(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,now())", page_size=5000)
        cursor.execute("SELECT setval('watch_entry_id_seq', (SELECT max(id) FROM watch_entry))")
        raw.commit()
    finally:
        raw.close()


def listen(port: int, token: str, arrivals: dict[str, float], ready: threading.Event, stop: threading.Event) -> None:
    """Hold an SSE connection like the console; note when each alert's first pass arrives."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/v1/watchlist/alerts/stream", headers={"Authorization": f"Bearer {token}",
                                                                     "Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 200, response.status
    while not stop.is_set():
        line = response.readline()
        if not line:
            break
        if line.startswith(b"retry:"):
            ready.set()
        if line.startswith(b"data: "):
            arrivals.setdefault(json.loads(line[6:])["pass_id"], time.perf_counter())
    conn.close()


def produce(bus: Redis, rate: int, seconds: float, hit_every: int, hit_plates: list[str],
            checkpoints: list[Checkpoint], rng: random.Random) -> dict[str, float]:
    """Append passes at `rate`/s in 10 ms ticks; returns pass id -> accepted time for watched ones."""
    sent: dict[str, float] = {}
    per_tick, count, started = max(1, rate // 100), 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        pipe = bus.pipeline(transaction=False)
        hits: list[str] = []
        for _ in range(per_tick):
            count += 1
            watched = count % hit_every == 0 and hit_plates
            plate = hit_plates.pop() if watched else realistic_plate(rng).replace("粤", "湘")
            checkpoint = rng.choice(checkpoints)
            passing = event(plate)
            passing = replace(passing, captured=replace(passing.captured, checkpoint_id=checkpoint.id))
            fields: dict[Any, Any] = passing.to_fields()
            pipe.xadd(PASSES_STREAM, fields)
            if watched:
                hits.append(str(passing.captured.pass_id))
        pipe.execute()
        accepted = time.perf_counter()
        for pass_id in hits:
            sent[pass_id] = accepted
        next_tick = started + count / rate
        time.sleep(max(0.0, next_tick - time.perf_counter()))
    return sent


def wait_caught_up(bus: Redis, timeout_s: float = 60.0) -> float:
    """Wait until the matcher has matched every pass of the warm-up (it starts by loading its copy of the
    100,000-watch index, seconds on a busy machine); returns how long that took after the warm-up."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        groups: Any = bus.xinfo_groups(PASSES_STREAM)
        group = next((found for found in groups if found["name"] == GROUP), None)
        if group is not None and group["lag"] == 0 and group["pending"] == 0:
            break
        time.sleep(0.05)
    return time.monotonic() - started


def wait_for_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not listen on port {port} within {timeout_s} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--watches", type=int, default=100_000)
    parser.add_argument("--hit-every", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()
    rng = random.Random(7)
    scratch = ScratchDatabase.create(ADMIN_URL, "checkpoint_bench_watchlist")
    url = scratch.url
    settings = Settings(database_url=url, redis_url=args.redis, secret_key=secrets.token_urlsafe(32),
                        data_dir=Path(tempfile.mkdtemp(prefix="bench-watchlist-")))
    stop = threading.Event()
    children: list[subprocess.Popen[bytes]] = []
    try:
        engine = Database.configure(url)
        prepare_database(settings, engine)
        bus = Bus.configure(args.redis)
        bus.flushdb()
        assert Database.sessions is not None
        with Database.sessions() as session:
            requester = users.create(session, username="bench-officer", password="Bench-password-1",
                                     roles=["officer"])
            approver = users.create(session, username="bench-supervisor", password="Bench-password-1",
                                    roles=["officer", "approver"])
            dispatcher = users.create(session, username="bench-dispatcher", password="Bench-password-1",
                                      roles=["dispatcher"])
            session.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[], checkpoint_ids=[]))
            session.commit()
            checkpoints = list(session.scalars(select(Checkpoint).where(Checkpoint.edge_id.is_not(None))))
            for checkpoint in checkpoints:
                session.expunge(checkpoint)
        specs = make_specs(rng, args.watches)
        started = time.perf_counter()
        write_watches(url, specs, requester.id, approver.id)
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        index.rebuild(bus, Database.sessions)
        rebuild_s = time.perf_counter() - started
        hit_plates = [spec.pattern for spec in specs if spec.mode == "exact"]
        rng.shuffle(hit_plates)

        port = 18000 + os.getpid() % 1000
        env = {**os.environ, "CHECKPOINT_DATABASE_URL": url, "CHECKPOINT_REDIS_URL": args.redis,
               "CHECKPOINT_SECRET_KEY": str(settings.secret_key), "CHECKPOINT_DATA_DIR": str(settings.data_dir)}
        children = [subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env),
                    subprocess.Popen([sys.executable, "-m", "checkpoint.watchlist.cli", "matcher", "--consumer",
                                      "bench-matcher"], env=env),
                    subprocess.Popen([sys.executable, "-m", "checkpoint.watchlist.cli", "relay"], env=env)]
        wait_for_port(port)
        with Database.sessions() as db:  # a real login of the dispatcher (a bare token names no session)
            token, _ = login_sessions.open_session(db, db.merge(dispatcher), settings.resolved_secret_key(), 3600)
            db.commit()
        arrivals: dict[str, float] = {}
        ready = threading.Event()
        threading.Thread(target=listen, args=(port, token, arrivals, ready, stop), daemon=True).start()
        ready.wait(10)
        produce(bus, args.rate, args.warmup, args.hit_every, hit_plates, checkpoints, rng)
        caught_up_s = wait_caught_up(bus)
        sent = produce(bus, args.rate, args.seconds, args.hit_every, hit_plates, checkpoints, rng)
        deadline = time.monotonic() + 10
        while len([p for p in sent if p in arrivals]) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        latencies_ms = sorted((arrivals[p] - at) * 1000 for p, at in sent.items() if p in arrivals)
        quantiles = statistics.quantiles(latencies_ms, n=100) if len(latencies_ms) >= 2 else [float("nan")] * 99
        print(json.dumps({
            "bench": "watchlist_sse", "watches": len(specs), "rate_per_s": args.rate, "seconds": args.seconds,
            "watch_write_s": round(write_s, 1), "index_rebuild_s": round(rebuild_s, 1),
            "warmup_catch_up_s": round(caught_up_s, 1),
            "alerts_expected": len(sent), "alerts_received": len(latencies_ms),
            "p50_ms": round(quantiles[49], 1), "p99_ms": round(quantiles[98], 1),
            "max_ms": round(latencies_ms[-1], 1) if latencies_ms else None,
        }))
    finally:
        stop.set()
        for child in children:
            child.terminate()
            child.wait(timeout=10)
        Bus.close()
        Database.dispose()
        scratch.drop()


if __name__ == "__main__":
    main()
