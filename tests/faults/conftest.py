"""The fault suite's system: private PostgreSQL and Redis, the API, writer, matcher (and relay) as processes.

One system for the whole suite (starting one costs an initdb, the migrations and the reference
data): each case uses devices and plates of its own, so its counts are its own, and the `system`
fixture brings back whatever an earlier case left killed or stopped.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from bench.fault_clients import AlertListener, Plates, WebhookReceiver
from bench.fault_system import System
from bench.waiting import wait_for


@pytest.fixture(scope="session")
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def fault_system(webhook: WebhookReceiver) -> Iterator[System]:
    # Not under pytest's tmp_path: concurrent pytest runs on one machine prune each other's old folders.
    system = System(Path(tempfile.mkdtemp(prefix="checkpoint-faults-")), webhook_url=webhook.url)
    try:
        system.start()
        yield system
    finally:
        system.close()


@pytest.fixture
def system(fault_system: System) -> System:
    """The shared system with both servers up and every core process running (restarted if a case killed one)."""
    if fault_system.redis.proc.poll() is not None:
        fault_system.redis.start()
    fault_system.redis.wait_up(30)
    try:
        psycopg2.connect(fault_system.pg.dsn, connect_timeout=2).close()
    except psycopg2.OperationalError:
        fault_system.pg.start()
    for service in fault_system.services.values():
        if service.name not in fault_system.core_services():
            service.stop()
    fault_system.start()
    return fault_system


@pytest.fixture(scope="session")
def plates() -> Plates:
    return Plates()


@pytest.fixture
def dispatcher(system: System) -> Iterator[AlertListener]:
    """A dispatcher's console holding the live alert stream (whole network), connected."""
    _, token = system.user_token("dispatcher")
    listener = AlertListener(system.port, token)
    listener.start()
    wait_for(listener.connected.is_set, 15, "the dispatcher's SSE connection")
    yield listener
    listener.close()
