"""The pass path's background work inside `checkpoint serve`: the writer and the retention job."""

from __future__ import annotations

import logging
import threading
from functools import partial
from pathlib import Path

from redis import Redis
from sqlalchemy import Engine

from checkpoint.core.supervisor import Supervisor
from checkpoint.passes.retention import run_retention
from checkpoint.passes.writer import PassWriter, ensure_partitions_ahead, freeze_startup_objects

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0


def retention_loop(engine: Engine, data_dir: Path, stop: threading.Event,
                   days_by_class: dict[int, int] | None = None, every_s: float = RETENTION_EVERY_S) -> None:
    """Hourly: partitions for the coming week, then retention; first run at once."""
    while not stop.is_set():
        try:
            ensure_partitions_ahead(engine)
            run_retention(engine, data_dir, days_by_class=days_by_class)
        except Exception:
            log.exception("passes.retention_error")
        stop.wait(every_s)


def start_background_workers(engine: Engine, bus: Redis, data_dir: Path, stop: threading.Event,
                             writers: int = 1, days_by_class: dict[int, int] | None = None,
                             retention_every_s: float = RETENTION_EVERY_S,
                             supervisor: Supervisor | None = None) -> list[threading.Thread]:
    """Start the passes writer(s) and the retention job under `supervisor` (one of their own on `stop` if none
    is given), which restarts either if it dies; returns their threads as started. Set `stop` and join them.

    In `checkpoint serve`: start after the database is prepared, and set `stop` and join the
    threads (each returns within about a second) before the servers are shut down.
    """
    supervisor = supervisor or Supervisor(stop).start()
    for index in range(writers):
        consumer = f"{_host()}-serve-{index}"
        supervisor.add_thread(f"passes-writer-{index}", partial(_run_writer, engine, bus, consumer))
    freeze_startup_objects()  # the serving process has started: see the function
    supervisor.add_thread("passes-retention", lambda stop: retention_loop(engine, data_dir, stop, days_by_class,
                                                                          retention_every_s))
    names = [*(f"passes-writer-{index}" for index in range(writers)), "passes-retention"]
    return [thread for thread in supervisor.threads() if thread.name in names]


def _run_writer(engine: Engine, bus: Redis, consumer: str, stop: threading.Event) -> None:
    PassWriter(engine, bus, consumer=consumer).run(stop)  # a fresh writer after a restart: nothing half-done kept


def _host() -> str:
    import socket

    return socket.gethostname()
