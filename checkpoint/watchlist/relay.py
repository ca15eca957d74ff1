"""The alert relay: publishes the alerts outbox (`alert_event`) to `checkpoint:alerts`, in order, once.

Writers (the matcher, a dispatcher's lifecycle step) add an `alert_event` row in the transaction that
changes the alert, so an alert is a durable fact before anyone is told. The relay then, under one
PostgreSQL advisory lock (several relays are safe: one works, the others wait their turn):
  1. numbers the rows not yet numbered, oldest first: `event_id` = the last one + 1, 2 ... and commits.
     Numbers are dense and given in publication order, whatever order the writers committed in, so a
     live stream that resumes "after event 41" from PostgreSQL can never skip a late-committed row;
  2. appends the numbered, unpublished rows to the stream (each entry carries its `event_id`), then
     marks them published. Killed between the two (fault point `relay.after_publish`), the next round
     appends them again with the same ids: a repeat that clients drop by id, never a loss.
It also retries the images of alerts raised without them (`hit_alert.images_pending`) and tells the
consoles with an "update" event once they are kept.
"""

from __future__ import annotations

import logging
import select as io_select
import threading
import time
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, func, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.db import utcnow
from checkpoint.core.faults import fault_point
from checkpoint.core.metrics import ALERTS_DELIVERED
from checkpoint.watchlist.alerts import (
    ALERTS_STREAM,
    ALERTS_STREAM_MAXLEN,
    RELAY_CHANNEL,
    event_fields,
    kept_images,
    queue_event,
)
from checkpoint.watchlist.models import IMAGE_COLUMNS, AlertEvent, DispatcherScope, HitAlert

log = logging.getLogger(__name__)
RELAY_LOCK = 0x636B_616C  # pg advisory lock key ("ckal"): one relay numbers and publishes at a time
IMAGE_RETRY_S = 30.0

_NUMBER = text("""
UPDATE alert_event AS e SET event_id = base.last + todo.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM alert_event
      WHERE event_id IS NULL ORDER BY id LIMIT :batch) AS todo,
     (SELECT coalesce(max(event_id), 0) AS last FROM alert_event) AS base
WHERE e.id = todo.id
""")


def _locked(session: Session) -> bool:
    """Take the relay lock for this transaction, or say another relay holds it."""
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK))))


def number_events(session: Session, batch: int = 500) -> int:
    """Give the oldest unnumbered events their ids (the caller holds the lock and commits)."""
    return int(session.execute(_NUMBER, {"batch": batch}).rowcount)  # type: ignore[attr-defined]  # CursorResult


def publish_numbered(session: Session, bus: Redis, batch: int = 500) -> list[int]:
    """Append numbered, unpublished events to the stream in id order and mark them (the caller holds the
    lock and commits); returns their ids."""
    events = list(session.scalars(select(AlertEvent).where(AlertEvent.published_at.is_(None),
                                                           AlertEvent.event_id.is_not(None))
                                  .order_by(AlertEvent.event_id).limit(batch)))
    if not events:
        return []
    pipe = bus.pipeline(transaction=False)
    for event in events:
        pipe.xadd(ALERTS_STREAM, event_fields(event), maxlen=ALERTS_STREAM_MAXLEN, approximate=True)
    pipe.execute()
    ALERTS_DELIVERED.labels("stream").inc(len(events))
    fault_point("relay.after_publish")
    ids = [event.id for event in events]
    session.execute(update(AlertEvent).where(AlertEvent.id.in_(ids)).values(published_at=utcnow()))
    return [int(event.event_id) for event in events if event.event_id is not None]


def events_after(session: Session, scope: DispatcherScope | None, after: int, until: int | None = None,
                 limit: int = 500) -> list[AlertEvent]:
    """Numbered events after `after` (up to `until`; published or about to be), oldest first, in the scope
    if one is given."""
    query = (select(AlertEvent).where(AlertEvent.event_id > after)
             .order_by(AlertEvent.event_id).limit(limit))
    if until is not None:
        query = query.where(AlertEvent.event_id <= until)
    if scope is not None and not scope.whole_network:
        query = query.where(or_(AlertEvent.district.in_(scope.districts),
                                AlertEvent.checkpoint_id.in_(scope.checkpoint_ids)))
    return list(session.scalars(query))


def latest_event_id(session: Session) -> int:
    """The newest numbered event's id (0 if none): where a stream opened "from now" starts."""
    return int(session.scalar(select(func.coalesce(func.max(AlertEvent.event_id), 0))) or 0)


class Relay:
    """Publishes the outbox until stopped; `wake` (set by a matcher in this process) skips the wait."""

    def __init__(self, bus: Redis, sessions: sessionmaker[Session], data_dir: Path | None = None,
                 batch: int = 500, poll_s: float = 0.5, image_retry_s: float = IMAGE_RETRY_S) -> None:
        self.bus, self.sessions, self.data_dir = bus, sessions, data_dir
        self.batch, self.poll_s, self.image_retry_s = batch, poll_s, image_retry_s
        self.wake = threading.Event()
        self.published = 0
        self._next_images_at = 0.0

    def publish_once(self) -> int:
        """One round: number what is new, publish what is numbered; returns how many were published."""
        with self.sessions() as session:
            if session.scalar(select(AlertEvent.id).where(AlertEvent.published_at.is_(None)).limit(1)) is None:
                return 0
            if not _locked(session):
                return 0
            number_events(session, self.batch)
            session.commit()
        with self.sessions() as session:
            if not _locked(session):
                return 0
            ids = publish_numbered(session, self.bus, self.batch)
            session.commit()
        if ids:
            self.published += len(ids)
            log.info("watchlist.alerts_published", extra={"count": len(ids), "first": ids[0], "last": ids[-1]})
        return len(ids)

    def retry_images(self) -> int:
        """Keep the images of alerts raised without them; returns how many alerts changed."""
        if self.data_dir is None:
            return 0
        changed = 0
        with self.sessions() as session:
            waiting = list(session.scalars(select(HitAlert).where(HitAlert.images_pending.is_not(None))
                                           .order_by(HitAlert.id).limit(100).with_for_update(skip_locked=True)))
            for alert in waiting:
                pending = dict(alert.images_pending or {})
                images = kept_images(self.data_dir, dict(pending))
                if images.pending == pending:
                    continue  # still unwritable
                for kind, kept in images.kept.items():
                    setattr(alert, IMAGE_COLUMNS[kind], kept)
                alert.images_pending = images.pending or None
                queue_event(session, alert, "update", "images")
                changed += 1
                log.info("watchlist.alert_images_kept",
                         extra={"alert_id": alert.id, "still_pending": len(images.pending)})
            session.commit()
        return changed

    def step(self) -> int:
        if self.data_dir is not None and time.monotonic() >= self._next_images_at:
            self._next_images_at = time.monotonic() + self.image_retry_s
            self.retry_images()
        return self.publish_once()

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set; Redis or PostgreSQL away: the rows wait, and are published after."""
        listener = Listener(self.sessions)
        try:
            self._run(stop, listener)
        finally:
            listener.close()

    def _run(self, stop: threading.Event, listener: Listener) -> None:
        failing = False
        while not stop.is_set():
            try:
                published = self.step()
                if failing:
                    log.info("watchlist.relay_recovered")
                failing = False
            except (RedisError, SQLAlchemyError, OSError) as exc:  # a server away: the rows wait
                if not failing:
                    log.warning("watchlist.relay_failed", extra={"error": str(exc)[:200]})
                failing, published = True, 0
                stop.wait(0.5)
            except Exception:  # a bug: logged, and the relay goes on (the rows stay unpublished until fixed)
                log.exception("watchlist.relay_error")
                failing, published = True, 0
                stop.wait(5.0)
            if published < self.batch and not listener.wait(self.poll_s):
                self.wake.wait(self.poll_s)  # no LISTEN connection: poll (a matcher here sets `wake`)
            self.wake.clear()


class Listener:
    """A connection LISTENing for the writers' NOTIFY, so a relay in another process publishes within
    milliseconds of their commit; without one (PostgreSQL away) the relay polls."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.connection: Any = None

    def _connect(self) -> Any:
        bind = self.sessions.kw.get("bind")
        if not isinstance(bind, Engine):
            return None  # a test's own connection: poll
        fairy: Any = bind.raw_connection()
        fairy.detach()  # never back to the pool: it stays in LISTEN
        connection = fairy.dbapi_connection
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {RELAY_CHANNEL}")
        return connection

    def wait(self, timeout_s: float) -> bool:
        """Wait for a notification or the timeout; False if there is no LISTEN connection to wait on."""
        try:
            if self.connection is None:
                self.connection = self._connect()
                if self.connection is None:
                    return False
            io_select.select([self.connection], [], [], timeout_s)
            self.connection.poll()
            self.connection.notifies.clear()
            return True
        except Exception as exc:  # noqa: BLE001 (any driver error: drop the connection, poll, retry later)
            log.warning("watchlist.relay_listen_failed", extra={"error": str(exc)[:200]})
            self.close()
            return False

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 (closing a broken connection)
                pass
        self.connection = None


def start_relay_thread(bus: Redis, sessions: sessionmaker[Session], stop: threading.Event,
                       data_dir: Path | None = None) -> tuple[threading.Thread, Relay]:
    """Run a relay inside another process (`checkpoint serve`); it stops when `stop` is set."""
    relay = Relay(bus, sessions, data_dir)
    thread = threading.Thread(target=relay.run, args=(stop,), name="watchlist-relay", daemon=True)
    thread.start()
    return thread, relay
