"""The stream workers `checkpoint serve` runs beside the API, as threads of one process.

Each one is also a command of its own (`checkpoint passes writer`, `checkpoint watchlist matcher`,
...) for sites that run them as separate processes or on other machines; consumer groups share
the work and at-least-once delivery with idempotent handlers keeps it exact.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import sessionmaker

from checkpoint.capture import feed_history
from checkpoint.capture.snapshot_worker import SnapshotPool
from checkpoint.coverage import worker as coverage_worker
from checkpoint.passes.workers import start_background_workers
from checkpoint.runtime import System
from checkpoint.trajectory.worker import start_summary_thread
from checkpoint.watchlist.relay import start_relay_thread
from checkpoint.watchlist.worker import start_matcher_thread

log = logging.getLogger(__name__)


@dataclass
class BackgroundWorkers:
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every worker to stop and wait for it (each finishes its batch, commits and acks)."""
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=timeout_s)
            if thread.is_alive():
                log.warning("core.worker_still_running", extra={"worker": thread.name})


def _restarting(name: str, stop: threading.Event, work: Callable[[], None], backoff_s: float = 1.0) -> None:
    """Run `work` until `stop`; an unexpected error (Redis or PostgreSQL restarting) restarts it after a pause."""
    while not stop.is_set():
        try:
            work()
        except Exception:
            log.exception("core.worker_failed", extra={"worker": name})
            stop.wait(backoff_s)
            backoff_s = min(backoff_s * 2, 30.0)


def start_workers(system: System) -> BackgroundWorkers:
    """Passes writer and retention, snapshot LPR, the watchlist matcher and alert relay, and live coverage."""
    workers = BackgroundWorkers()
    sessions = sessionmaker(bind=system.engine, expire_on_commit=False)
    consumer = f"{socket.gethostname()}-{os.getpid()}-serve"
    workers.threads += start_background_workers(system.engine, system.bus, system.settings.data_dir,
                                                workers.stop_event,
                                                days_by_class=system.settings.retention_days_by_class())
    history = threading.Thread(target=feed_history.run, args=(system.engine, system.bus, consumer, workers.stop_event),
                               name="capture-feed-history", daemon=True)
    history.start()
    workers.threads.append(history)
    relay_thread, relay = start_relay_thread(system.bus, sessions, workers.stop_event, system.settings.data_dir)
    workers.threads.append(relay_thread)  # publishes the alerts outbox; the matcher wakes it after each commit
    workers.threads.append(start_matcher_thread(system.bus, sessions, workers.stop_event, relay_wake=relay.wake))
    workers.threads.append(start_summary_thread(system.engine, system.settings.timezone, workers.stop_event))
    snapshot_pool = SnapshotPool(system.redis_url, system.settings.data_dir, system.settings.snapshot_workers)
    snapshots = threading.Thread(target=snapshot_pool.run, args=(workers.stop_event,), name="capture-snapshots",
                                 daemon=True)  # LPR processes start once a snapshot camera pushes
    snapshots.start()
    workers.threads.append(snapshots)
    def live_coverage() -> None:
        coverage_worker.run(system.bus, sessions, consumer, workers.stop_event)

    coverage = threading.Thread(target=_restarting, args=("coverage-live", workers.stop_event, live_coverage),
                                name="coverage-live", daemon=True)
    coverage.start()
    workers.threads.append(coverage)
    log.info("core.workers_started", extra={"workers": [thread.name for thread in workers.threads]})
    return workers
