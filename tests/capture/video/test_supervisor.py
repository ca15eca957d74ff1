"""The watchdog restarts a killed capture process, and gives up on one that dies in a loop."""

from __future__ import annotations

import os
import signal
import threading
from collections import deque
from pathlib import Path

from redis import Redis

from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.status import feed_key, read_feed_status
from checkpoint.capture.video.supervisor import Supervisor, is_restarting_too_fast
from checkpoint.lpr import LprSettings
from tests.capture.video.conftest import write_plain_video
from tests.waiting import wait_until


def redis_url_of(bus: Redis) -> str:
    kwargs = bus.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def test_restart_rate_limit_forgets_old_restarts() -> None:
    restarts: deque[float] = deque([0.0, 10.0, 20.0, 30.0, 40.0])
    assert is_restarting_too_fast(restarts, now=50.0, window_s=300, max_restarts=5)
    assert not is_restarting_too_fast(restarts, now=305.0, window_s=300, max_restarts=5)
    assert list(restarts) == [10.0, 20.0, 30.0, 40.0]


def test_a_killed_capture_process_is_restarted_and_its_feed_comes_back(video_bus: Redis, tmp_path: Path) -> None:
    video = write_plain_video(tmp_path / "loop.mp4", frames=50, size=(320, 180))
    feed = FeedConfig(feed_id=51, checkpoint_id=1, checkpoint_code="HZ-SUP", source=str(video), kind="file",
                      loop=True)  # read live (paced by the decoder, frames dropped), over and over
    supervisor = Supervisor([feed], redis_url_of(video_bus), tmp_path, LprSettings(use_paddle=False)).start()
    try:
        wait_until(lambda: read_feed_status(video_bus, 51).get("state") == "online", timeout_s=60,
                   what="the feed online in its capture process")
        process = supervisor.processes[0].process
        assert process is not None and process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=10)
        video_bus.delete(feed_key(51))

        assert supervisor.watch() == [process.pid]

        wait_until(lambda: read_feed_status(video_bus, 51).get("state") == "online", timeout_s=60,
                   what="the feed online again in the restarted process")
        new_process = supervisor.processes[0].process
        assert new_process is not None and new_process.pid != process.pid and new_process.is_alive()
        assert len(supervisor.processes[0].restarts) == 1
    finally:
        supervisor.run(stop=_already_set())  # stops at once: the stop path itself is exercised
    assert all(p.process is None or not p.process.is_alive() for p in supervisor.processes)


def _already_set() -> threading.Event:
    stop = threading.Event()
    stop.set()
    return stop
