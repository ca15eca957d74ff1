"""Done-when: an RTSP feed added through the API against the test RTSP server gives passes within seconds,
and stops when disabled, without restarting capture (the supervisor follows the registry)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture.synthetic.feed import generate_feed
from checkpoint.capture.video.feeds import video_feed_configs
from checkpoint.capture.video.status import read_feed_status
from checkpoint.capture.video.supervisor import Supervisor
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import get_session
from checkpoint.core.models import User
from checkpoint.lpr import LprSettings
from checkpoint.sites.models import Checkpoint, Feed
from tests.capture.video.conftest import VIDEO_TEST_DB, appended_passes
from tests.capture.video.rtsp_tcp import TcpRtspServer, require_ffmpeg
from tests.conftest import token_for
from tests.waiting import wait_until


@pytest.fixture
def committing_client(sessions: sessionmaker[Session], test_settings: Settings) -> Iterator[TestClient]:
    """The API with sessions that commit, so the capture supervisor (its own connections) sees the changes."""
    from checkpoint.main import create_app

    def session() -> Iterator[Session]:
        with sessions() as db:
            yield db

    app = create_app()
    app.dependency_overrides[get_session] = session
    app.dependency_overrides[get_settings] = lambda: test_settings
    with TestClient(app) as client:
        yield client


def admin_headers(sessions: sessionmaker[Session], test_settings: Settings) -> dict[str, str]:
    from checkpoint.core import users

    with sessions() as db:
        admin: User = users.create(db, username=f"feedadmin{threading.get_ident() % 10000}", password="pw-12345678",
                                   roles=["admin"])
        db.commit()
        token = token_for(admin)  # a real login session: a bare token names none and is refused
        db.commit()
    return {"Authorization": f"Bearer {token}"}


def test_an_rtsp_feed_added_through_the_api_gives_passes_and_stops_when_disabled(
        committing_client: TestClient, sessions: sessionmaker[Session], test_settings: Settings,
        servers: tuple[str, str], video_bus: Redis, tmp_path: Path) -> None:
    require_ffmpeg()
    video = generate_feed(tmp_path / "lane.mp4", vehicles=6, size=(1280, 720), gap_s=1.2, crossing_s=1.6, seed=3)
    server = TcpRtspServer(Path(video.video), tmp_path)  # real plate crops when present, else rendered ones
    server.start()
    url = urlsplit(servers[1])
    redis_url = urlunsplit(url._replace(query="&".join(
        [part for part in url.query.split("&") if part and not part.startswith("db=")] + [f"db={VIDEO_TEST_DB}"])))
    with sessions() as db:
        checkpoint = db.scalars(select(Checkpoint).where(Checkpoint.active).order_by(Checkpoint.id)).first()
        assert checkpoint is not None
        code = checkpoint.code
    mine: set[int] = set()

    def registry() -> list:  # type: ignore[type-arg]
        with sessions() as db:  # the registry as capture reads it (only this test's feed: others may be committed)
            return [config for config in video_feed_configs(db) if config.feed_id in mine]

    supervisor = Supervisor([], redis_url, test_settings.data_dir, LprSettings(), feeds_per_process=1).start()
    stop = threading.Event()
    follower = threading.Thread(target=supervisor.run, args=(stop,),
                                kwargs={"registry": registry, "reload_every_s": 0.5, "every_s": 0.2}, daemon=True)
    follower.start()
    headers = admin_headers(sessions, test_settings)
    try:
        created = committing_client.post("/api/v1/feeds", headers=headers, json={
            "checkpoint": code, "lane": 1, "kind": "rtsp", "source": server.url.replace("rtsp://", "rtsp://cam:pw@"),
            "rtsp_transport": "tcp"})
        assert created.status_code == 201, created.text
        feed_id = created.json()["id"]
        mine.add(feed_id)
        wait_until(lambda: any(p.feed_id == feed_id for p in appended_passes(video_bus)), timeout_s=90,
                   what="a pass from the feed added through the API")
        assert all(p.checkpoint_id == checkpoint.id for p in appended_passes(video_bus))

        disabled = committing_client.patch(f"/api/v1/feeds/{feed_id}", headers=headers, json={"enabled": False})
        assert disabled.status_code == 200
        wait_until(lambda: not supervisor.processes, timeout_s=30, what="the disabled feed's process stopped")
        wait_until(lambda: read_feed_status(video_bus, feed_id).get("state") == "stopped", timeout_s=10,
                   what="the feed marked stopped")
    finally:
        stop.set()
        follower.join(timeout=30)
        server.stop()
        with sessions() as db:
            db.execute(delete(Feed).where(Feed.id.in_(mine)))
            db.commit()
