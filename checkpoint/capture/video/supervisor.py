"""The capture supervisor: a few feeds per process, a watchdog that restarts a dead or hung process.

Each capture process builds one plate engine and runs one FeedWorker thread per feed; it beats
a shared heartbeat every second. The watchdog restarts a process that died or whose heartbeat
stopped, but gives up on one restarting too fast (a crash loop), marking its feeds `failed`.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from pathlib import Path

from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.status import FeedStatusWriter
from checkpoint.capture.video.worker import FeedWorker
from checkpoint.core.bus import redis_client
from checkpoint.lpr import LprSettings, make_plate_engine

log = logging.getLogger(__name__)

RESTART_WINDOW_S = 300.0
MAX_RESTARTS = 5
HEARTBEAT_STALE_S = 30.0
WORKER_RESTART_S = 1.0


def is_restarting_too_fast(restarts: deque[float], now: float, window_s: float = RESTART_WINDOW_S,
                           max_restarts: int = MAX_RESTARTS) -> bool:
    """Whether `max_restarts` restarts already happened in the last `window_s` (old ones are forgotten)."""
    while restarts and now - restarts[0] > window_s:
        restarts.popleft()
    return len(restarts) >= max_restarts


def run_capture_process(feeds: list[FeedConfig], redis_url: str, data_dir: str, lpr_json: str,
                        heartbeat: ctypes.c_double, stop_flag: ctypes.c_bool) -> None:
    """A capture process: one engine, one thread per feed, a heartbeat every second.

    The shared values have no lock: a process killed while holding one would block the watchdog.
    """
    engine = make_plate_engine(LprSettings.model_validate_json(lpr_json))
    bus = redis_client(redis_url)
    thread_stop = threading.Event()
    engine_lock = threading.Lock() if len(feeds) > 1 else None  # onnxruntime sessions run one call at a time
    workers = [FeedWorker(config, engine, bus, Path(data_dir), engine_lock) for config in feeds]
    threads = {worker.config.feed_id: _start(worker, thread_stop) for worker in workers}
    while not stop_flag.value and not thread_stop.wait(1.0):
        for worker in workers:
            if not threads[worker.config.feed_id].is_alive() and not worker.config.replay:
                threads[worker.config.feed_id] = _start(worker, thread_stop)  # an uncaught error: run it again
        heartbeat.value = time.monotonic()
    thread_stop.set()
    for thread in threads.values():
        thread.join(timeout=5)
    bus.close()


def _start(worker: FeedWorker, stop: threading.Event) -> threading.Thread:
    def guarded() -> None:
        try:
            worker.run(stop)
        except Exception as exc:  # logged once here; the process loop starts the worker again
            log.exception("capture.worker_crashed", extra={"feed_id": worker.config.feed_id})
            worker.status.set_state("offline", f"worker crashed: {exc!r}")
            stop.wait(WORKER_RESTART_S)

    thread = threading.Thread(target=guarded, name=f"feed:{worker.config.feed_id}", daemon=True)
    thread.start()
    return thread


@dataclass
class CaptureProcess:
    """One supervised process and its restart history."""

    feeds: list[FeedConfig]
    process: SpawnProcess | None = None
    heartbeat: ctypes.c_double | None = None
    stop_flag: ctypes.c_bool | None = None
    started_monotonic: float = 0.0
    restarts: deque[float] = field(default_factory=deque)
    failed: bool = False


class Supervisor:
    """Starts the capture processes and keeps them running; call `watch()` in a loop or `run()`."""

    def __init__(self, feeds: list[FeedConfig], redis_url: str, data_dir: Path, lpr: LprSettings | None = None,
                 feeds_per_process: int = 2, heartbeat_stale_s: float = HEARTBEAT_STALE_S) -> None:
        self.redis_url = redis_url
        self.data_dir = data_dir
        self.lpr = lpr or LprSettings()
        self.heartbeat_stale_s = heartbeat_stale_s
        self.feeds_per_process = feeds_per_process
        self.context = mp.get_context("spawn")  # no forked copies of threads, sockets or ONNX sessions
        groups = [feeds[i:i + feeds_per_process] for i in range(0, len(feeds), feeds_per_process)]
        self.processes = [CaptureProcess(group) for group in groups]

    def start(self) -> Supervisor:
        for supervised in self.processes:
            self._spawn(supervised)
        return self

    def _spawn(self, supervised: CaptureProcess) -> None:
        heartbeat = self.context.RawValue(ctypes.c_double, time.monotonic())
        stop_flag = self.context.RawValue(ctypes.c_bool, False)
        process = self.context.Process(
            target=run_capture_process, name="capture",
            args=(supervised.feeds, self.redis_url, str(self.data_dir), self.lpr.model_dump_json(), heartbeat,
                  stop_flag),
            daemon=True,
        )
        process.start()
        supervised.process, supervised.heartbeat, supervised.stop_flag = process, heartbeat, stop_flag
        supervised.started_monotonic = time.monotonic()
        log.info("capture.process_started", extra={"pid": process.pid, "feeds": [f.feed_id for f in supervised.feeds]})

    def watch(self) -> list[int]:
        """One watchdog pass: restart dead or hung processes; the pids of those restarted."""
        restarted = []
        now = time.monotonic()
        for supervised in self.processes:
            if supervised.failed or supervised.process is None or supervised.heartbeat is None:
                continue
            hung = now - max(supervised.heartbeat.value, supervised.started_monotonic) > self.heartbeat_stale_s
            if supervised.process.is_alive() and not hung:
                continue
            old_pid = supervised.process.pid
            if supervised.process.is_alive():
                supervised.process.kill()
            supervised.process.join(timeout=5)
            if is_restarting_too_fast(supervised.restarts, now):
                supervised.failed = True
                self._mark_failed(supervised)
                log.error("capture.process_gave_up", extra={"pid": old_pid})
                continue
            supervised.restarts.append(now)
            log.warning("capture.process_restarted", extra={"pid": old_pid, "hung": hung})
            self._spawn(supervised)
            if old_pid is not None:
                restarted.append(old_pid)
        return restarted

    def _mark_failed(self, supervised: CaptureProcess) -> None:
        bus = redis_client(self.redis_url)
        try:
            for config in supervised.feeds:
                FeedStatusWriter(bus, config.feed_id).set_state("failed", "capture process restarting too fast")
        finally:
            bus.close()

    def run(self, stop: threading.Event, every_s: float = 1.0,
            registry: Callable[[], list[FeedConfig]] | None = None, reload_every_s: float = 2.0) -> None:
        """Watch the processes until `stop`; with `registry`, also follow it (sync) every reload_every_s."""
        last_reload = time.monotonic()
        while not stop.wait(every_s):
            self.watch()
            if registry is not None and time.monotonic() - last_reload >= reload_every_s:
                last_reload = time.monotonic()
                try:
                    self.sync(registry())
                except Exception:  # the database away for a moment: the running feeds go on
                    log.exception("capture.registry_not_read")
        self.stop()

    def sync(self, feeds: list[FeedConfig]) -> tuple[list[int], list[int]]:
        """Run exactly these feeds: stop the processes of feeds removed, disabled or changed, start the new.

        A registry change thus takes effect without a restart (capture run follows the registry);
        feeds sharing a process with a changed one are restarted with it. Returns (started, stopped) feed ids.
        """
        wanted = {feed.feed_id: feed for feed in feeds}
        kept, stopped = [], []
        for supervised in self.processes:
            if all(wanted.get(feed.feed_id) == feed for feed in supervised.feeds):
                kept.append(supervised)
                for feed in supervised.feeds:
                    wanted.pop(feed.feed_id)
            else:
                self._stop_process(supervised)
                stopped += [feed.feed_id for feed in supervised.feeds]
        new = list(wanted.values())
        for start in range(0, len(new), self.feeds_per_process):
            supervised = CaptureProcess(new[start:start + self.feeds_per_process])
            self._spawn(supervised)
            kept.append(supervised)
        self.processes = kept
        if new or stopped:
            log.info("capture.registry_followed", extra={"started": [f.feed_id for f in new], "stopped": stopped})
        return [feed.feed_id for feed in new], stopped

    def _stop_process(self, supervised: CaptureProcess) -> None:
        if supervised.stop_flag is not None:
            supervised.stop_flag.value = True
        if supervised.process is not None:
            supervised.process.join(timeout=10)
            if supervised.process.is_alive():
                supervised.process.kill()
                supervised.process.join(timeout=5)

    def stop(self) -> None:
        for supervised in self.processes:
            if supervised.stop_flag is not None:
                supervised.stop_flag.value = True
        for supervised in self.processes:
            self._stop_process(supervised)
