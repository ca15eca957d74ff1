"""A server that accepts connections and never answers (hung, or a dead peer) fails a call, never hangs it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from checkpoint.core import bus as bus_module
from checkpoint.core.db import make_engine


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port whose server accepts and then says nothing, like a Redis or PostgreSQL stopped with SIGSTOP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_redis_call_to_a_silent_server_times_out(silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bus_module, "SOCKET_TIMEOUT_S", 0.5)
    client = bus_module.redis_client(f"redis://127.0.0.1:{silent_port}/0")
    started = time.monotonic()
    with pytest.raises(redis.exceptions.TimeoutError):
        client.ping()
    assert time.monotonic() - started < 5


def test_a_postgresql_connect_to_a_silent_server_gives_up(silent_port: int) -> None:
    engine = make_engine(f"postgresql+psycopg2://nobody@127.0.0.1:{silent_port}/none")
    started = time.monotonic()
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert time.monotonic() - started < 15  # connect_timeout 5 s (libpq may try twice: IPv4 and SSL off)
    engine.dispose()


def test_a_redis_call_over_a_silent_local_socket_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded default speaks over a unix socket: the same client, with what such a socket takes."""
    monkeypatch.setattr(bus_module, "SOCKET_TIMEOUT_S", 0.5)
    path = tmp_path / "silent.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(4)
    try:
        client = bus_module.redis_client(f"unix://{path}")
        with pytest.raises(redis.exceptions.TimeoutError):
            client.ping()
    finally:
        server.close()
