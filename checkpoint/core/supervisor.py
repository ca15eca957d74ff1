"""One supervisor for every worker of a process: restart any that dies, with backoff.

A worker is a thread running `target(stop)` or a child process from `spawn()`. One that dies (its
thread raised or returned before `stop`; its process exited or was killed -9) is restarted after
1 s, then 2, 4, ... up to 30 s while it keeps dying; the delay goes back to 1 s once it has run a
healthy minute. Each death and restart is logged (`core.worker_died`, `core.worker_restarted`).
Timed with time.monotonic(); one supervisor thread checks every worker a few times a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
HEALTHY_S = 60.0
CHECK_EVERY_S = 0.2


@dataclass
class Backoff:
    """The delay before the next restart: doubling while the worker keeps dying, reset after a healthy run."""

    first_s: float = FIRST_BACKOFF_S
    max_s: float = MAX_BACKOFF_S
    healthy_s: float = HEALTHY_S
    next_s: float = FIRST_BACKOFF_S

    def after_death(self, ran_s: float) -> float:
        """The delay to wait now, for a worker that ran `ran_s` seconds before dying."""
        if ran_s >= self.healthy_s:
            self.next_s = self.first_s
        delay, self.next_s = self.next_s, min(self.next_s * 2, self.max_s)
        return delay


class _Thread:
    """A worker thread that remembers how it ended."""

    def __init__(self, name: str, target: Callable[[threading.Event], None], stop: threading.Event) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._body, args=(target, stop), name=name, daemon=True)
        self.thread.start()

    def _body(self, target: Callable[[threading.Event], None], stop: threading.Event) -> None:
        try:
            target(stop)
        except BaseException as exc:  # logged by the supervisor, which restarts it
            self.error = exc

    def is_alive(self) -> bool:
        return self.thread.is_alive()


@dataclass
class Supervised:
    name: str
    start: Callable[[], _Thread | BaseProcess]
    backoff: Backoff
    running: _Thread | BaseProcess | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts workers and restarts the dead; `run` (on a thread of its own) until `stop` is set."""

    stop: threading.Event = field(default_factory=threading.Event)
    first_backoff_s: float = FIRST_BACKOFF_S
    max_backoff_s: float = MAX_BACKOFF_S
    healthy_s: float = HEALTHY_S
    workers: dict[str, Supervised] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def add_thread(self, name: str, target: Callable[[threading.Event], None]) -> None:
        """Run `target(stop)` on a thread now, and again whenever it dies."""
        self._add(name, lambda: _Thread(name, target, self.stop))

    def add_process(self, name: str, spawn: Callable[[], BaseProcess]) -> None:
        """Start a child process with `spawn()` (which starts it) now, and again whenever it dies."""
        self._add(name, spawn)

    def _add(self, name: str, start: Callable[[], _Thread | BaseProcess]) -> None:
        backoff = Backoff(self.first_backoff_s, self.max_backoff_s, self.healthy_s, self.first_backoff_s)
        worker = Supervised(name, start, backoff)
        with self._lock:
            self.workers[name] = worker
            self._start(worker)

    def _start(self, worker: Supervised) -> None:
        worker.running, worker.started_at, worker.restart_at = worker.start(), time.monotonic(), None

    def running(self, name: str) -> _Thread | BaseProcess | None:
        with self._lock:
            worker = self.workers.get(name)
            return worker.running if worker is not None else None

    def check(self) -> None:
        """Schedule a restart for each newly dead worker, and restart those whose delay has passed."""
        now = time.monotonic()
        with self._lock:
            for worker in self.workers.values():
                if self.stop.is_set():
                    return
                running = worker.running
                if running is not None and running.is_alive():
                    continue
                if worker.restart_at is None:
                    delay = worker.backoff.after_death(now - worker.started_at)
                    worker.restart_at = now + delay
                    error = running.error if isinstance(running, _Thread) else None
                    log.error("core.worker_died", exc_info=error, extra={"worker": worker.name, "restart_in_s": delay,
                                                                         **_how_it_ended(running)})
                elif now >= worker.restart_at:
                    self._start(worker)
                    worker.restarts += 1
                    log.warning("core.worker_restarted", extra={"worker": worker.name, "restarts": worker.restarts})

    def run(self, every_s: float = CHECK_EVERY_S) -> None:
        while not self.stop.wait(every_s):
            try:
                self.check()
            except Exception:  # a spawn that failed (fork refused): tried again at the next check
                log.exception("core.supervisor_error")

    def start(self) -> Supervisor:
        """Supervise on a thread of its own; returns self."""
        self._thread = threading.Thread(target=self.run, name="supervisor", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout_s: float = 10.0) -> None:
        """Set `stop` and wait for every worker (threads finish their batch; processes are killed if they hang)."""
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        with self._lock:
            workers = list(self.workers.values())
        for worker in workers:
            running = worker.running
            if isinstance(running, _Thread):
                running.thread.join(timeout=timeout_s)
                if running.is_alive():
                    log.warning("core.worker_still_running", extra={"worker": worker.name})
            elif running is not None:
                running.join(timeout=timeout_s)
                if running.is_alive():
                    running.kill()
                    running.join(timeout=5)

    def threads(self) -> list[threading.Thread]:
        with self._lock:
            return [worker.running.thread for worker in self.workers.values() if isinstance(worker.running, _Thread)]


def _how_it_ended(running: _Thread | BaseProcess | None) -> dict[str, object]:
    if isinstance(running, _Thread):
        error = running.error
        return {"error": repr(error)[:300] if error is not None else "returned"}
    if running is not None:
        return {"pid": running.pid, "exitcode": running.exitcode}
    return {}
