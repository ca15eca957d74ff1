"""The pass path's background work inside `checkpoint serve`: the writer and the retention job."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from redis import Redis
from sqlalchemy import Engine

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
                             retention_every_s: float = RETENTION_EVERY_S) -> list[threading.Thread]:
    """Start the passes writer(s) and the retention job as daemon threads; set `stop`, then join them.

    In `checkpoint serve`: start after the database is prepared, and set `stop` and join the
    threads (each returns within about a second) before the servers are shut down.
    """
    threads = [threading.Thread(target=PassWriter(engine, bus, consumer=f"{_host()}-serve-{index}").run,
                                args=(stop,), name=f"passes-writer-{index}", daemon=True)
               for index in range(writers)]
    freeze_startup_objects()  # the serving process has started: see the function
    threads.append(threading.Thread(target=retention_loop, args=(engine, data_dir, stop, days_by_class,
                                                                 retention_every_s),
                                    name="passes-retention", daemon=True))
    for thread in threads:
        thread.start()
    return threads


def _host() -> str:
    import socket

    return socket.gethostname()
