"""The stream workers `checkpoint serve` runs beside the API, as threads (and LPR processes) of one process.

One Supervisor (core/supervisor.py) starts them all and restarts any that dies, with backoff. Each one
is also a command of its own (`checkpoint passes writer`, `checkpoint watchlist matcher`, ...) for
sites that run them as separate processes or on other machines (deploy/ has systemd units); consumer
groups share the work and at-least-once delivery with idempotent handlers keeps it exact.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field

from sqlalchemy.orm import sessionmaker

from checkpoint.capture import device_health, feed_history
from checkpoint.capture.snapshot_worker import SnapshotPool
from checkpoint.core import audit_chain
from checkpoint.core.streams import ensure_declared_groups
from checkpoint.core.supervisor import Supervisor
from checkpoint.coverage import worker as coverage_worker
from checkpoint.passes.workers import start_background_workers
from checkpoint.runtime import System
from checkpoint.trajectory.worker import summary_loop
from checkpoint.watchlist.relay import Relay
from checkpoint.watchlist.worker import Matcher
from checkpoint.watchlist.worker import default_consumer as matcher_consumer

log = logging.getLogger(__name__)


@dataclass
class BackgroundWorkers:
    """The supervised workers, and `threads` started beside them that are not restarted (the demo's)."""

    supervisor: Supervisor = field(default_factory=Supervisor)
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def stop_event(self) -> threading.Event:
        return self.supervisor.stop

    def started(self) -> BackgroundWorkers:
        """Start supervising (after every worker was added); returns self."""
        self.supervisor.start()
        log.info("core.workers_started", extra={"workers": sorted(self.supervisor.workers)})
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every worker to stop and wait for it (each finishes its batch, commits and acks)."""
        self.supervisor.join(timeout_s)
        for thread in self.threads:
            thread.join(timeout=timeout_s)
            if thread.is_alive():
                log.warning("core.worker_still_running", extra={"worker": thread.name})


def start_workers(system: System, apart: bool = False) -> BackgroundWorkers:
    """Passes writer and retention, snapshot LPR, the watchlist matcher and alert relay, feed history, day
    summaries and the live coverage verifier, all under one supervisor. `apart`: the writer, matcher, relay,
    snapshot LPR and coverage live run as services of their own (deploy/); this process keeps retention,
    feed history and summaries."""
    workers = BackgroundWorkers()
    supervisor = workers.supervisor
    bus, engine, settings = system.bus, system.engine, system.settings
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    consumer = f"{socket.gethostname()}-{os.getpid()}-serve"
    ensure_declared_groups(bus)  # every group holds back the trim from the start, run yet or not
    start_background_workers(engine, bus, settings.data_dir, supervisor.stop, writers=0 if apart else 1,
                             days_by_class=settings.retention.days_by_class(), supervisor=supervisor)
    supervisor.add_thread("audit-anchor", lambda stop: audit_chain.anchor_loop(engine, settings.data_dir, stop))
    supervisor.add_thread("capture-feed-history", lambda stop: feed_history.run(engine, bus, consumer, stop))
    supervisor.add_thread("capture-device-health",  # online/offline of every pushing camera, outage alerts
                          lambda stop: device_health.run(sessions, bus, settings.intake, stop))
    days_back = settings.retention.summary_days()
    supervisor.add_thread("trajectory-summaries",
                          lambda stop: summary_loop(engine, settings.timezone, stop, days_back=days_back))
    if apart:
        return workers.started()
    relay = Relay(bus, sessions, settings.data_dir)  # publishes the alerts outbox; the matcher wakes it
    supervisor.add_thread("watchlist-relay", relay.run)

    def matcher(stop: threading.Event) -> None:
        running = Matcher(bus, sessions, matcher_consumer("-serve"), settings.watchlist, data_dir=settings.data_dir)
        running.relay_wake = relay.wake
        running.run(stop)

    supervisor.add_thread("watchlist-matcher", matcher)
    snapshot_pool = SnapshotPool(system.redis_url, settings.data_dir, settings.capture.snapshot_workers,
                                 settings.lpr, repeat_window_s=settings.capture.repeat_window_s,
                                 supervisor=supervisor)  # LPR processes start once a snapshot camera pushes
    supervisor.add_thread("capture-snapshots", snapshot_pool.run)
    supervisor.add_thread("coverage-live", lambda stop: coverage_worker.run(bus, sessions, consumer, stop))
    return workers.started()
