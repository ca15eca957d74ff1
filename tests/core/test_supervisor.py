"""The supervisor restarts a worker thread that crashed and a child process killed -9, with backoff."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from typing import Any

import redis as redis_lib
from sqlalchemy import Engine

from checkpoint.core.config import Settings
from checkpoint.core.supervisor import Backoff, Supervisor
from tests.waiting import wait_until


def test_backoff_doubles_to_30_s_and_resets_after_a_healthy_minute() -> None:
    backoff = Backoff()
    assert [backoff.after_death(ran_s=0.5) for _ in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff.after_death(ran_s=61.0) == 1.0  # it ran a healthy minute before this death
    assert backoff.after_death(ran_s=2.0) == 2.0


def test_a_crashed_worker_thread_is_restarted_with_growing_delays() -> None:
    started_at: list[float] = []

    def flaky(stop: threading.Event) -> None:
        started_at.append(time.monotonic())
        if len(started_at) <= 3:
            raise RuntimeError("worker bug")  # dies three times, then runs until stopped
        stop.wait()

    supervisor = Supervisor(first_backoff_s=0.1, max_backoff_s=0.4).start()
    try:
        supervisor.add_thread("flaky", flaky)
        wait_until(lambda: len(started_at) == 4, timeout_s=10, what="the fourth start")
        gaps = [later - earlier for earlier, later in zip(started_at, started_at[1:], strict=False)]
        assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4, gaps
        assert supervisor.workers["flaky"].restarts == 3
        thread = supervisor.running("flaky")
        assert thread is not None and thread.is_alive()
    finally:
        supervisor.join(timeout_s=5)
    assert thread is not None and not thread.is_alive()
    assert supervisor.workers["flaky"].restarts == 3  # stopping on purpose is not a death


def test_a_child_process_killed_with_sigkill_is_restarted() -> None:
    context = mp.get_context("spawn")

    def spawn() -> mp.process.BaseProcess:
        process = context.Process(target=time.sleep, args=(600,), daemon=True)
        process.start()
        return process

    supervisor = Supervisor(first_backoff_s=0.1).start()
    try:
        supervisor.add_process("child", spawn)
        first = supervisor.running("child")
        assert isinstance(first, mp.process.BaseProcess) and first.pid is not None
        os.kill(first.pid, signal.SIGKILL)

        def replaced() -> bool:
            now = supervisor.running("child")
            return now is not first and now is not None and now.is_alive()

        wait_until(replaced, timeout_s=10, what="a new child process")
        assert supervisor.workers["child"].restarts == 1
    finally:
        supervisor.join(timeout_s=1)  # it sleeps: killed after the timeout
    last = supervisor.running("child")
    assert last is not None and not last.is_alive()


def test_serve_with_workers_apart_supervises_the_rest_and_declares_every_group(
        engine: Engine, bus: redis_lib.Redis, test_settings: Settings, servers: tuple[str, str]) -> None:
    from checkpoint.core.embedded import EmbeddedServers
    from checkpoint.core.streams import STREAM_GROUPS
    from checkpoint.runtime import System
    from checkpoint.workers import start_workers

    system = System(test_settings, engine, bus, EmbeddedServers(), servers[0], servers[1])
    workers = start_workers(system, apart=True)  # the four stream workers are left to their own services
    try:
        assert sorted(workers.supervisor.workers) == ["audit-anchor", "capture-device-health", "capture-feed-history",
                                                      "passes-retention",
                                                      "trajectory-summaries"]
        for stream, groups in STREAM_GROUPS.items():  # declared up front: they hold back the trim already
            info: Any = bus.xinfo_groups(stream)
            assert sorted(group["name"] for group in info) == sorted(groups)
        history = workers.supervisor.running("capture-feed-history")
        assert history is not None and history.is_alive()
    finally:
        workers.stop(timeout_s=10)
    assert history is not None and not history.is_alive()
    assert all(worker.restarts == 0 for worker in workers.supervisor.workers.values())  # a stop is not a death
