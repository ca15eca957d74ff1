"""Feed state changes are kept in PostgreSQL: online and intact rates survive a Redis flush."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoint.capture.feed_history import GROUP, store_feed_changes
from checkpoint.capture.feed_status import feed_health
from checkpoint.capture.models import FeedStateChange
from checkpoint.capture.video.status import FEED_EVENTS_STREAM, FeedStatusWriter, feed_key
from checkpoint.core.db import utcnow
from checkpoint.sites.models import Checkpoint, Feed


def two_feeds(session: Session) -> tuple[Feed, Feed]:
    first, second = session.scalars(select(Checkpoint).order_by(Checkpoint.id).limit(2)).all()
    up = Feed(checkpoint_id=first.id, lane=1, direction="in", kind="rtsp", source="rtsp://a")
    flaky = Feed(checkpoint_id=second.id, lane=1, direction="in", kind="rtsp", source="rtsp://b")
    session.add_all([up, flaky])
    session.flush()
    return up, flaky


def test_rates_and_states_survive_a_redis_flush(session: Session, bus: Redis) -> None:
    up, flaky = two_feeds(session)
    now = utcnow()
    changes = ((up, "online", 3.0), (flaky, "online", 3.0), (flaky, "offline", 1.5), (flaky, "online", 1.0),
               (flaky, "offline", 0.5))
    for feed, state, ago_h in changes:
        bus.xadd(FEED_EVENTS_STREAM, {"feed_id": str(feed.id), "state": state,
                                      "at": (now - timedelta(hours=ago_h)).isoformat(), "error": ""})
    bus.hset(feed_key(up.id), mapping={"state": "online"})
    bus.hset(feed_key(flaky.id), mapping={"state": "offline", "last_error": "connection refused"})
    window = (now - timedelta(hours=2), utcnow())  # ends after the entries were appended
    before = {row.feed_id: row for row in feed_health(session, bus, *window)}
    assert before[flaky.id].online_rate == pytest.approx(0.5, abs=0.01)  # online 1.5-1.0 h and 2.0-1.5 h ago

    assert store_feed_changes(session, bus, "t-history") == len(changes)
    assert bus.xpending(FEED_EVENTS_STREAM, GROUP)["pending"] == 0
    bus.flushdb()  # Redis lost: no stream, no hashes

    after = {row.feed_id: row for row in feed_health(session, bus, *window)}
    for feed in (up, flaky):
        assert after[feed.id].online_rate == before[feed.id].online_rate
    assert after[up.id].state == "online" and after[flaky.id].state == "offline"  # the last stored change


def test_a_change_copied_twice_is_stored_once(session: Session, bus: Redis) -> None:
    up, _flaky = two_feeds(session)
    status = FeedStatusWriter(bus, up.id)
    status.set_state("online")
    status.set_state("offline", "stalled: no frame for 3 s")
    assert store_feed_changes(session, bus, "t-first") == 2
    bus.xgroup_setid(FEED_EVENTS_STREAM, GROUP, "0")  # as if the acks were lost with a restart
    assert store_feed_changes(session, bus, "t-again") == 2
    stored = session.execute(select(FeedStateChange.state, FeedStateChange.error)
                             .where(FeedStateChange.feed_id == up.id).order_by(FeedStateChange.changed_at)).all()
    assert [tuple(row) for row in stored] == [("online", ""), ("offline", "stalled: no frame for 3 s")]
    assert session.scalar(select(func.count()).select_from(FeedStateChange)
                          .where(FeedStateChange.feed_id == up.id)) == 2
    assert store_feed_changes(session, bus, "t-again") == 0
