"""Online rate (在线率) and intact rate (完好率) from capture's feed status records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture.feed_status import online_share
from checkpoint.capture.video.status import FEED_EVENTS_STREAM, feed_key
from checkpoint.core.db import utcnow
from checkpoint.sites.models import Checkpoint, Feed

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_online_share_counts_the_time_spent_online() -> None:
    window = (at(0), at(60))
    assert online_share([], "online", *window) == 1.0
    assert online_share([], "unknown", *window) == 0.0
    assert online_share([(at(15), "offline"), (at(45), "online")], "online", *window) == pytest.approx(0.5)
    # changes before the window set the starting state; those after it are ignored
    assert online_share([(at(-5), "online"), (at(30), "offline"), (at(90), "online")], "offline",
                        *window) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="must end after it starts"):
        online_share([], "online", at(10), at(10))


def test_feeds_status_reports_rates_and_checkpoint_states(client: TestClient, session: Session, bus: Redis,
                                                          auth_headers: Callable[..., dict[str, str]]) -> None:
    first, second = session.scalars(select(Checkpoint).order_by(Checkpoint.id).limit(2)).all()
    up = Feed(checkpoint_id=first.id, lane=1, direction="in", kind="rtsp", source="rtsp://a")
    down = Feed(checkpoint_id=second.id, lane=1, direction="in", kind="rtsp", source="rtsp://b")
    session.add_all([up, down])
    session.flush()
    now = utcnow()
    for feed, state, ago_h in ((up, "online", 3.0), (down, "online", 3.0), (down, "offline", 1.5)):
        bus.xadd(FEED_EVENTS_STREAM, {"feed_id": str(feed.id), "state": state,
                                      "at": (now - timedelta(hours=ago_h)).isoformat(), "error": ""})
    bus.hset(feed_key(up.id), mapping={"state": "online"})
    bus.hset(feed_key(down.id), mapping={"state": "offline", "last_error": "connection refused"})

    report = client.get("/api/v1/feeds/status", params={"hours": 2}, headers=auth_headers("dispatcher")).json()
    by_id = {row["feed_id"]: row for row in report["feeds"]}
    assert by_id[up.id]["online_rate"] == pytest.approx(1.0, abs=0.01)
    assert by_id[down.id]["online_rate"] == pytest.approx(0.25, abs=0.01)  # online 30 of the 120 minutes
    assert by_id[down.id]["last_error"] == "connection refused"
    assert report["intact_rate"] == pytest.approx(0.5)
    assert report["checkpoints"] == {first.code: "online", second.code: "offline"}

    bad = client.get("/api/v1/feeds/status", params={"hours": 0}, headers=auth_headers("planner"))
    assert bad.status_code == 422 and "hours" in bad.json()["detail"]
    assert client.get("/api/v1/feeds/status", headers=auth_headers("officer")).status_code == 403
