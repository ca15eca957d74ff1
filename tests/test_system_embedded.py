"""The README's run command on a bare machine: embedded PostgreSQL and Redis, data kept across restarts."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx2 as httpx
import pytest

from checkpoint.demo import TAXI_PLATE
from tests.waiting import wait_until

CHECKPOINT = Path(sys.executable).with_name("checkpoint")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], list[str], float]:
    """Start `checkpoint demo` with no URLs configured; return the process, its output so far, seconds to ready.

    Output is read until uvicorn is up; the rest goes to a thread that drains it, so the pipe never fills.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINT_")}
    env.update(CHECKPOINT_DATA_DIR=str(data_dir), CHECKPOINT_PORT=str(port))
    started = time.monotonic()
    process = subprocess.Popen([str(CHECKPOINT), "demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines: list[str] = []
    assert process.stdout is not None
    while time.monotonic() - started < 120:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"checkpoint demo exited early:\n{''.join(lines)}")
        lines.append(line)
        if "Uvicorn running on" in line:
            ready_s = time.monotonic() - started
            threading.Thread(target=process.stdout.read, daemon=True).start()  # drain the logs
            return process, lines, ready_s
    process.kill()
    pytest.fail("checkpoint demo not ready within 120 s")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0


def assert_demo_watch_hits(base: str, output: str) -> None:
    """The demo's traffic goes the whole way: reads stream, writer, PostgreSQL, matcher, alert."""
    password = re.search(r"demo user demo.dispatcher created with password \(shown once\): (\S+)", output)
    assert password, output
    with httpx.Client(base_url=base) as client:
        assert client.post("/api/v1/auth/login", json={"username": "demo.dispatcher",
                                                       "password": password.group(1)}).status_code == 200

        def taxi_alert() -> bool:
            alerts = client.get("/api/v1/watchlist/alerts").json()
            return any(alert["plate"] == TAXI_PLATE for alert in alerts)

        wait_until(taxi_alert, timeout_s=90, what=f"a hit alert on the demo watch {TAXI_PLATE}")
        assert client.get("/api/v1/passes/recent", params={"limit": 5}).json()


def test_embedded_default_runs_and_keeps_its_data(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process, lines, _ = start(tmp_path / "var", port)
    try:
        output = "".join(lines)
        assert f"Checkpoint console: http://127.0.0.1:{port}/" in output
        password = re.search(r"created user 'admin' with password.*\n\s+(\S+)", output)
        assert password, output
        with httpx.Client(base_url=base) as client:
            assert client.get("/api/v1/health").json()["status"] == "ok"
            login = client.post("/api/v1/auth/login", json={"username": "admin", "password": password.group(1)})
            assert login.status_code == 200
            features = client.get("/api/v1/checkpoints").json()["features"]
            assert len(features) == 120
            per_district = Counter(f["properties"]["district"] for f in features)
            assert sorted(per_district.values()) == [15, 15, 15, 15, 20, 20, 20]
            assert_demo_watch_hits(base, output)
            created = client.post("/api/v1/users", json={"username": "wang.fang", "password": "Kept-across-1",
                                                         "roles": ["dispatcher"]})
            assert created.status_code == 201
    finally:
        stop(process)

    process, lines, ready_s = start(tmp_path / "var", port)
    try:
        assert "created user 'admin'" not in "".join(lines)  # the password is shown once only
        assert ready_s <= 10, f"second start took {ready_s:.1f} s"
        with httpx.Client(base_url=base) as client:
            login = client.post("/api/v1/auth/login", json={"username": "wang.fang", "password": "Kept-across-1"})
            assert login.status_code == 200
            assert len(client.get("/api/v1/checkpoints").json()["features"]) == 120
    finally:
        stop(process)
