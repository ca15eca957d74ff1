"""Feed state changes kept in PostgreSQL: consumer group `feed-history` on `checkpoint:feed_events`.

Capture processes append every online/offline change to the Redis stream (they hold no
database connection). This copies each change into `feed_state_change` and acks it after the
commit; the unique (feed_id, changed_at, state) makes a redelivered change a no-op. Online and
intact rates then read PostgreSQL, so they survive a Redis flush; changes not yet copied are
still read from the stream.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

from redis import Redis
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from checkpoint.capture.models import FeedStateChange
from checkpoint.capture.video.status import FEED_EVENTS_STREAM
from checkpoint.core.bus import Message
from checkpoint.core.streams import Batch, StreamConsumer

GROUP = "feed-history"
EVERY_S = 1.0
log = logging.getLogger(__name__)
StateChange = tuple[datetime, str]

_INSERT = text(
    "INSERT INTO feed_state_change (feed_id, state, changed_at, error) "
    "SELECT :feed_id, :state, :changed_at, :error WHERE EXISTS (SELECT 1 FROM feed WHERE id = :feed_id) "
    "ON CONFLICT (feed_id, changed_at, state) DO NOTHING")


def feed_changes_consumer(bus: Redis, consumer: str, count: int = 500, block_ms: int = 1000) -> StreamConsumer[Message]:
    return StreamConsumer(bus, FEED_EVENTS_STREAM, GROUP, consumer, count=count, block_ms=block_ms)


def store_batch(session: Session, batch: Batch[Message]) -> None:
    """Copy one batch of state changes into PostgreSQL and commit (the consumer acks after).

    Changes of a feed deleted since are dropped (their rows would go with the feed anyway).
    """
    rows = [row for row in (_row(message) for message in batch.messages) if row is not None]
    if rows:
        session.execute(_INSERT, rows)
    session.commit()


def store_feed_changes(session: Session, bus: Redis, consumer: str, count: int = 500) -> int:
    """Copy one batch of state changes into PostgreSQL, commit, ack; returns how many were read."""
    stream = feed_changes_consumer(bus, consumer, count, block_ms=1)
    stream.start()
    handled: list[int] = []

    def handle(batch: Batch[Message]) -> None:
        store_batch(session, batch)
        handled.append(len(batch.messages))

    stream.step(handle)
    return sum(handled)


def run(engine: Engine, bus: Redis, consumer: str, stop: threading.Event, every_s: float = EVERY_S) -> None:
    """Copy state changes as they come until `stop`; errors (a server restarting) are retried."""

    def handle(batch: Batch[Message]) -> None:
        with Session(engine) as session:
            store_batch(session, batch)

    feed_changes_consumer(bus, consumer, block_ms=int(every_s * 1000)).run(stop, handle)


def _row(message: Message) -> dict[str, object] | None:
    _msg_id, fields = message
    try:
        return {"feed_id": int(fields["feed_id"]), "state": fields["state"][:16],
                "changed_at": datetime.fromisoformat(fields["at"]), "error": fields.get("error", "")}
    except (KeyError, ValueError):
        return None  # not a change capture wrote: nothing to keep


def stored_changes(session: Session, feed_ids: Sequence[int], until: datetime) -> dict[int, list[StateChange]]:
    """Every stored change of these feeds up to `until`, per feed, oldest first."""
    changes: dict[int, list[StateChange]] = {}
    rows = session.execute(select(FeedStateChange.feed_id, FeedStateChange.changed_at, FeedStateChange.state)
                           .where(FeedStateChange.feed_id.in_(feed_ids), FeedStateChange.changed_at <= until)
                           .order_by(FeedStateChange.changed_at))
    for feed_id, changed_at, state in rows:
        changes.setdefault(feed_id, []).append((changed_at, state))
    return changes
