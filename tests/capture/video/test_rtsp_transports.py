"""Done-when, for both RTSP transports: an RTSP server stopped and restarted -> the feed is back within
5 s; its status shows the outage. UDP through rtsp-server-perl (it relays over UDP only); TCP, RTP
interleaved in the RTSP connection (how cameras are read by default), through rtsp_tcp.TcpRtspServer."""

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
from tests.capture.video.rtsp_tcp import TcpRtspServer, require_ffmpeg
from tests.waiting import wait_until

FEED_ID = 43


@pytest.fixture(params=["udp", "tcp"])
def rtsp_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RtspServer | TcpRtspServer]:
    """A server of the transport the test is for; stop() and start() make a camera-side outage."""
    video = write_plain_video(tmp_path / "lane.mp4", frames=50, size=(640, 360))
    server: RtspServer | TcpRtspServer
    if request.param == "udp":
        require_tools()
        server = RtspServer(video)
    else:
        require_ffmpeg()
        server = TcpRtspServer(video, tmp_path)
    server.start()
    yield server
    server.stop()


def test_feed_reconnects_within_5_s_after_the_server_restarts(
    rtsp_server: RtspServer | TcpRtspServer, plate_engine: PlateEngine, video_bus: Redis, tmp_path: Path
) -> None:
    transport = "tcp" if isinstance(rtsp_server, TcpRtspServer) else "udp"
    config = FeedConfig(feed_id=FEED_ID, checkpoint_id=1, checkpoint_code="HZ-RTSP", source=rtsp_server.url,
                        kind="rtsp", rtsp_transport=transport, stall_s=2.0)
    worker = FeedWorker(config, plate_engine, video_bus, tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: read_feed_status(video_bus, FEED_ID).get("state") == "online", timeout_s=30,
                   what=f"the feed online over RTSP/{transport}")

        rtsp_server.stop()
        wait_until(lambda: read_feed_status(video_bus, FEED_ID).get("state") == "offline", timeout_s=15,
                   what="the feed seen offline")
        down = read_feed_status(video_bus, FEED_ID)
        assert down["last_error"] and down["offline_since"]

        rtsp_server.start()
        restarted = time.monotonic()
        wait_until(lambda: read_feed_status(video_bus, FEED_ID).get("state") == "online", timeout_s=15,
                   what=f"the feed back online over RTSP/{transport}")
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
    if isinstance(rtsp_server, TcpRtspServer):  # the frames came inside the RTSP connection, both times
        assert rtsp_server.interleaved_packets > 0 and rtsp_server.playing_starts >= 2
