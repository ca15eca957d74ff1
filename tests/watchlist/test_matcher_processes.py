"""Matchers as separate processes and threads: a watch approved through the API is in force on every
matcher within 1 s; a Redis killed mid-stream and restarted loses no pass and sends no alert twice."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import users
from checkpoint.core.bus import PASSES_STREAM, get_bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import get_session
from checkpoint.core.models import User
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.alerts import ALERTS_STREAM
from checkpoint.watchlist.models import WatchEntry, WatchHit
from checkpoint.watchlist.relay import start_relay_thread
from checkpoint.watchlist.worker import GROUP, Matcher
from tests.conftest import PASSWORD
from tests.waiting import wait_until
from tests.watchlist.conftest import headers_for, pass_event, push_pass, random_plate

REDIS_SERVER = shutil.which("redis-server")


@pytest.fixture
def committing_client(sessions: sessionmaker[Session], bus: Redis, test_settings: Settings) -> Iterator[TestClient]:
    """The API with sessions that really commit, so matcher processes see what it writes."""
    from checkpoint.main import create_app

    def real_session() -> Iterator[Session]:
        with sessions() as db:
            yield db

    app = create_app()
    app.dependency_overrides[get_session] = real_session
    app.dependency_overrides[get_settings] = lambda: test_settings
    app.dependency_overrides[get_bus] = lambda: bus
    with TestClient(app) as client:
        yield client


def committed_users(sessions: sessionmaker[Session]) -> tuple[User, User]:
    with sessions() as db:
        officer = users.create(db, username=f"o{secrets.token_hex(4)}", password=PASSWORD, roles=["officer"])
        supervisor = users.create(db, username=f"s{secrets.token_hex(4)}", password=PASSWORD,
                                  roles=["officer", "approver"])
        db.commit()
        return officer, supervisor


def any_checkpoint(sessions: sessionmaker[Session]) -> Checkpoint:
    with sessions() as db:
        found = db.scalars(select(Checkpoint).limit(1)).one()
        db.expunge(found)
        return found


def test_two_matcher_processes_apply_a_watch_added_through_the_api_within_1_s(
        committing_client: TestClient, bus: Redis, engine: Engine, servers: tuple[str, str],
        sessions: sessionmaker[Session]) -> None:
    env = {**os.environ, "CHECKPOINT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "CHECKPOINT_REDIS_URL": servers[1]}
    names = [f"proc{index}-{secrets.token_hex(3)}" for index in (1, 2)]
    processes = [subprocess.Popen([sys.executable, "-m", "checkpoint.watchlist.cli", "matcher", "--consumer", name],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in names]
    processes.append(subprocess.Popen([sys.executable, "-m", "checkpoint.watchlist.cli", "relay"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        wait_until(lambda: {c["name"] for c in bus.xinfo_consumers(PASSES_STREAM, GROUP)} >= set(names)
                   if bus.exists(PASSES_STREAM) else False, timeout_s=30, what="both matchers in the group")
        officer, supervisor = committed_users(sessions)
        checkpoint = any_checkpoint(sessions)
        plate = random_plate()
        body = {"pattern": plate, "category": "stolen", "reason": "two matchers"}
        created = committing_client.post("/api/v1/watchlist/watches", json=body, headers=headers_for(officer))
        approved = committing_client.post(f"/api/v1/watchlist/watches/{created.json()['id']}/approve", json={},
                                          headers=headers_for(supervisor))
        assert approved.status_code == 200
        in_force_at = time.monotonic()
        first_hit: dict[str, float] = {}
        last_id = "0-0"
        for _ in range(40):  # one pass at a time; the group hands each to whichever matcher waits
            push_pass(bus, pass_event(plate, checkpoint))
            while True:  # the relay also publishes events other tests left in the outbox: skip those
                reply: Any = bus.xread({ALERTS_STREAM: last_id}, count=1, block=5_000)
                assert reply, "no alert within 5 s"
                last_id, fields = reply[0][1][0]
                if json.loads(fields["alert"])["plate"] == plate:
                    break
            first_hit.setdefault(fields["source"], time.monotonic() - in_force_at)
            if len(first_hit) == 2:
                break
        assert set(first_hit) == set(names)
        assert max(first_hit.values()) <= 1.0, first_hit
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def _start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    assert REDIS_SERVER is not None
    process = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                                "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = Redis(port=port, socket_connect_timeout=0.2)
    wait_until(lambda: _pings(probe), timeout_s=10, what=f"redis on port {port}")
    return process


def _pings(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except OSError:
        return False
    except Exception:  # noqa: BLE001 (redis' ConnectionError while it starts)
        return False


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
def test_redis_killed_mid_stream_loses_no_pass_and_sends_no_alert_twice(
        sessions: sessionmaker[Session], committed_watch: Callable[..., WatchEntry], tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = _start_redis(port, tmp_path)
    own = Redis(port=port, decode_responses=True)
    plate = random_plate()
    entry = committed_watch(plate)  # in PostgreSQL; this Redis starts empty, so the matcher rebuilds
    checkpoint = any_checkpoint(sessions)
    stop = threading.Event()
    matcher = Matcher(own, sessions, "restart-test")
    thread = threading.Thread(target=matcher.run, args=(stop,), daemon=True)
    thread.start()
    relay_thread, _relay = start_relay_thread(own, sessions, stop)
    watched: list[str] = []
    try:
        for round_ in range(2):
            for index in range(300):
                event = pass_event(plate if index % 30 == 0 else random_plate("粤A"), checkpoint)
                if index % 30 == 0:
                    watched.append(str(event.captured.pass_id))
                push_pass(own, event)
            if round_ == 0:
                server.kill()  # mid-stream: the matcher is still working through the batch
                server.wait()
                server = _start_redis(port, tmp_path)

        def hits() -> int:
            with sessions() as db:
                return int(db.scalar(select(func.count()).select_from(WatchHit)
                                     .where(WatchHit.entry_id == entry.id)) or 0)

        wait_until(lambda: hits() == len(watched), timeout_s=20, what="every watched pass matched")

        def ours() -> list[str]:
            stream: Any = own.xrange(ALERTS_STREAM)
            return [fields["event_id"] for _id, fields in stream if json.loads(fields["alert"])["entry_id"] == entry.id]

        wait_until(lambda: len(set(ours())) >= len(watched), timeout_s=10, what="every hit published")
        assert len(set(ours())) == len(watched) == 20  # one event per (pass, watch): none lost
        assert len(ours()) == 20  # and none twice (a repeat would carry the same event id)
    finally:
        stop.set()
        thread.join(timeout=10)
        relay_thread.join(timeout=10)
        server.kill()
        server.wait()
