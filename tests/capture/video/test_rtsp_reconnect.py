"""Done-when: an RTSP server stopped and restarted -> the feed is back within 5 s; its status shows the outage."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.status import read_feed_status
from checkpoint.capture.video.worker import FeedWorker
from checkpoint.lpr import PlateEngine
from tests.capture.video.conftest import write_plain_video
from tests.capture.video.rtsp import RtspServer, require_tools
from tests.waiting import wait_until

FEED_ID = 41


@pytest.fixture
def rtsp_server(tmp_path: Path) -> Iterator[RtspServer]:
    require_tools()
    server = RtspServer(write_plain_video(tmp_path / "lane.mp4", frames=50, size=(640, 360)))
    server.start()
    yield server
    server.stop()


def test_feed_reconnects_within_5_s_after_the_server_restarts(
    rtsp_server: RtspServer, plate_engine: PlateEngine, video_bus: Redis, tmp_path: Path
) -> None:
    config = FeedConfig(feed_id=FEED_ID, checkpoint_id=1, checkpoint_code="HZ-RTSP", source=rtsp_server.url,
                        kind="rtsp", rtsp_transport="udp", stall_s=2.0)  # rtsp-server-perl relays over UDP only
    worker = FeedWorker(config, plate_engine, video_bus, tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: read_feed_status(video_bus, FEED_ID).get("state") == "online", timeout_s=30,
                   what="the feed online over RTSP")

        rtsp_server.stop()
        wait_until(lambda: read_feed_status(video_bus, FEED_ID).get("state") == "offline", timeout_s=15,
                   what="the feed seen offline")
        down = read_feed_status(video_bus, FEED_ID)
        assert down["last_error"] and down["offline_since"]

        rtsp_server.start()
        restarted = time.monotonic()
        wait_until(lambda: read_feed_status(video_bus, FEED_ID).get("state") == "online", timeout_s=15,
                   what="the feed back online")
        reconnect_s = time.monotonic() - restarted
        up = read_feed_status(video_bus, FEED_ID)
    finally:
        stop.set()
        thread.join(timeout=15)

    assert reconnect_s < 5.0, f"reconnected after {reconnect_s:.1f} s"
    assert int(up["reconnects"]) >= 1 and up["offline_since"] == ""
    states = [state for state, _at in worker.status.changes]
    first_online = states.index("online")  # until the publisher announced, DESCRIBE got 404: offline
    assert states[first_online:] == ["online", "offline", "online", "stopped"]
