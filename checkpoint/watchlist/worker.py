"""The matcher: consumes `checkpoint:passes` in group "watchlist", matches each pass against the index.

Any number of matchers, on any machine, share the group. Each keeps a copy of the watch index in memory
(local_index.py); candidates are verified here (validity window, scope, colour, the pattern itself).
Hits are committed to PostgreSQL with their alert events (the outbox that relay.py publishes to
`checkpoint:alerts`) and, for a new alert, its webhook delivery (webhook.py), in one transaction; then
the passes are acked (in the pipeline of the next read). Reading, claiming, acking and retrying are
core/streams.py's StreamConsumer: a batch that fails is read again, then pass by pass, and a pass that
keeps failing is dead-lettered after `max_deliveries`. Before a batch the matcher knows the change
log's version in PostgreSQL (read within the last 100 ms, or at once when Redis's version moved) and
applies the changes since its copy (change_log.py), so a watch change answered 200 is in force from
the next batch, whatever Redis holds; a Redis index whose version disagrees (emptied, or restarted
from an old AOF with its ready flag) is caught up or rebuilt from PostgreSQL. With PostgreSQL
unreachable nothing is matched: the batch stays pending and is read again.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import PASSES_STREAM
from checkpoint.core.faults import fault_point
from checkpoint.core.metrics import ALERTS_RAISED
from checkpoint.core.settings_groups import WatchlistSettings
from checkpoint.core.streams import Batch, StreamConsumer
from checkpoint.passes.record import PassEvent
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import alerts, change_log, index, service, webhook
from checkpoint.watchlist.alerts import Hit
from checkpoint.watchlist.change_log import WatchSpec
from checkpoint.watchlist.index import EPOCH_KEY, READY_KEY, VERSION_KEY
from checkpoint.watchlist.index_status import MatcherReporter
from checkpoint.watchlist.local_index import IndexCopy
from checkpoint.watchlist.predict import Predictor
from checkpoint.watchlist.raw_stream import RawMessage, decoded, plate_of, raw_client
from checkpoint.watchlist.webhook import WebhookOutbox

log = logging.getLogger(__name__)
GROUP = "watchlist"
REBUILD_WAIT_S = 60.0
CLAIM_IDLE_MS = 30_000  # a pass unacked this long by another consumer is taken over (it has died)
CLAIM_EVERY_S = 1.0
RETRY_WAIT_S = 0.5
NEW_BLOCK_MS = 500
VERSION_CHECK_S = 0.1  # the database's version is read at most this long before a batch is matched


def default_consumer(suffix: str = "") -> str:
    return f"{socket.gethostname()}-{os.getpid()}{suffix}"


class Matcher:
    def __init__(self, bus: Redis, sessions: sessionmaker[Session], consumer: str | None = None,
                 settings: WatchlistSettings | None = None, batch: int = 500, data_dir: Path | None = None) -> None:
        self.bus, self.sessions = bus, sessions
        self.raw = raw_client(bus)  # the pass stream, read as bytes (raw_stream.py)
        self.data_dir = data_dir  # where pass images are, and alerts keep theirs (None: alerts keep no images)
        self.consumer = consumer or default_consumer()
        self.settings = settings or WatchlistSettings()  # the defaults; the site's come from the caller
        self.batch = batch
        self.index = IndexCopy()
        self.districts: dict[int, str] = {}
        self.predictor = Predictor(sessions)
        self.outbox = WebhookOutbox(sessions, self.settings.webhook_url, self.settings.webhook_timeout_s,
                                    self.settings.webhook_max_backoff_s) if self.settings.webhook_url else None
        # Acks go with the next read, in one pipeline with it and the MGET of the index state.
        self.stream: StreamConsumer[RawMessage] = StreamConsumer(
            bus, PASSES_STREAM, GROUP, self.consumer, raw=self.raw, count=batch, block_ms=NEW_BLOCK_MS,
            claim_idle_ms=CLAIM_IDLE_MS, claim_every_s=CLAIM_EVERY_S, max_deliveries=self.settings.max_deliveries,
            handler_acks=True, defer_acks=True, pipeline_extras=_index_state)
        self.retrying = False  # the last read returned passes delivered before
        self._read_state: list[str | None] | None = None  # ready/version/epoch read right after the passes
        self.matched = 0
        self.reporter = MatcherReporter(bus, self.consumer)  # its version, for the status page
        self.version_checked_at = -math.inf  # monotonic time of the last read of the database's version
        self.relay_wake: threading.Event | None = None  # set after each commit with hits (a relay in this process)

    # --- the index --------------------------------------------------------------------------------

    def ensure_index(self) -> None:
        """Make the Redis index current: caught up from the change log, or rebuilt from PostgreSQL if it
        has no ready index or one ahead of the database; wait if another matcher is rebuilding."""
        self.version_checked_at = -math.inf  # (after a Redis failure, say) ask the database at the next batch
        deadline = time.monotonic() + REBUILD_WAIT_S
        while True:
            with self.sessions() as session:
                if index.catch_up(self.bus, session):
                    return
            if index.rebuild(self.bus, self.sessions):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the watch index was not rebuilt within {REBUILD_WAIT_S:.0f} s")
            time.sleep(0.05)  # another matcher holds the rebuild lock

    def sync(self, state: list[str | None] | None = None) -> None:
        """Bring the local copy to the database's version before a batch is matched, and the Redis index
        too if its version disagrees. The database is asked again once VERSION_CHECK_S has passed, and at
        once when Redis's version (`state`, read right after the batch) differs from the copy's (the API
        updates Redis right after its commit): a change committed VERSION_CHECK_S before a batch is
        matched is always applied. A PostgreSQL error leaves the batch pending: nothing is matched on
        a copy the database has not vouched for within that time."""
        started = time.monotonic()
        current: Any = state or self.bus.mget(READY_KEY, VERSION_KEY)
        ready, version = current[0], current[1]
        if self.index.version is not None and ready and version == str(self.index.version) \
                and started - self.version_checked_at < VERSION_CHECK_S:
            return
        with self.sessions() as session:
            wanted = change_log.database_version(session)
            if self.index.version is None or self.index.version > wanted:
                self.ensure_index()  # first batch, or a database older than the copy: load afresh
                self.index.load(self.bus)
                wanted = change_log.database_version(session)  # Redis may hold a change committed since
            if self.index.version is not None and self.index.version > wanted:
                raise RuntimeError("the Redis watch index is ahead of the database after a rebuild")
            self.index.catch_up(session, wanted)
            if not ready or version != str(wanted):
                self._repair_index(session)
        self.version_checked_at = started
        self.reporter.report(wanted)

    def _repair_index(self, session: Session) -> None:
        """Catch the Redis index up, or rebuild it (unless another matcher is at it): a restarted Redis
        may carry a ready flag from its AOF and an old version."""
        if not index.catch_up(self.bus, session):
            index.rebuild(self.bus, self.sessions)

    def match(self, events: list[PassEvent]) -> list[Hit]:
        """Hits of parsed pass events (the stream loop uses match_messages, which parses only candidates)."""
        self.sync()
        found = self.index.lookup_many([event.captured.plate for event in events])
        return self._verified((events[at], ids) for at, ids in sorted(found.items()))

    def match_messages(self, messages: list[RawMessage]) -> list[Hit]:
        """Hits of raw stream entries: a plate lookup for each, a full parse only for those with candidates."""
        self.sync(self._read_state)
        self._read_state = None
        readable: list[RawMessage] = []
        plates: list[str] = []
        for msg_id, fields in messages:
            try:
                plates.append(plate_of(fields))
                readable.append((msg_id, fields))
            except (KeyError, ValueError) as exc:  # (UnicodeDecodeError is a ValueError)
                self._refuse(msg_id, fields, exc)
        candidates: list[tuple[PassEvent, set[int]]] = []
        for at, ids in sorted(self.index.lookup_many(plates).items()):
            msg_id, fields = readable[at]
            try:
                candidates.append((PassEvent.from_fields(decoded(fields)), ids))
            except (KeyError, ValueError) as exc:
                self._refuse(msg_id, fields, exc)
        return self._verified(candidates)

    def _refuse(self, msg_id: bytes, fields: dict[bytes, bytes], exc: Exception) -> None:
        self.stream.dead_letter(msg_id, fields, f"not a pass event: {exc!r}")

    def _verified(self, candidates: Iterable[tuple[PassEvent, set[int]]]) -> list[Hit]:
        specs = self.index.specs
        hits: list[Hit] = []
        for event, ids in candidates:
            for entry_id in ids:
                spec = specs.get(entry_id)
                if spec is not None and (why := self.verify(spec, event)) is not None:
                    hits.append(Hit(event, entry_id, why, self.district_of(event.captured.checkpoint_id),
                                    spec.priority, spec.pattern, spec.mode, spec.category))
        return hits

    def verify(self, spec: WatchSpec, event: PassEvent) -> str | None:
        captured = event.captured
        if not spec.in_force(captured.captured_at):
            return None
        if spec.plate_colour and captured.plate_colour not in (spec.plate_colour, "unknown"):
            return None
        if not spec.covers(captured.checkpoint_id, self.district_of(captured.checkpoint_id)):
            return None
        return spec.parsed.explain(captured.plate)

    def district_of(self, checkpoint_id: int) -> str:
        if checkpoint_id not in self.districts:
            with self.sessions() as session:
                self.districts = {row[0]: row[1] for row in session.execute(select(Checkpoint.id, Checkpoint.district))}
            self.districts.setdefault(checkpoint_id, "")
        return self.districts[checkpoint_id]

    # --- the stream -------------------------------------------------------------------------------

    def handle(self, messages: list[RawMessage]) -> int:
        """Match a batch, commit its hits, push them, then ack the batch (with the next read); returns the
        number of hits."""
        hits = self.match_messages(messages)
        if hits:
            self.record(hits)
        if messages:
            self.stream.done([msg_id for msg_id, _ in messages])  # acked with the next read (one round trip)
        self.matched += len(messages)
        return len(hits)

    def record(self, hits: list[Hit]) -> None:
        """One transaction for the batch's hits and their alert events (the outbox the relay publishes from),
        so a crash anywhere after the commit loses nothing: the relay tells the dispatchers. A pass appended
        twice is one pass; one matching several watches makes one alert listing them."""
        by_pass: dict[Any, list[Hit]] = {}  # one alert per pass, whatever number of watches it matched
        for hit in hits:
            by_pass.setdefault(hit.event.captured.pass_id, []).append(hit)
        told: list[tuple[int, int, str]] = []
        with self.sessions() as session:
            for pass_hits in by_pass.values():
                captured = pass_hits[0].event.captured
                predicted = self.predictor.predict(captured.checkpoint_id, captured.captured_at)
                recorded = alerts.record_pass(session, pass_hits, self.settings, predicted, self.data_dir)
                if not recorded.to_push:
                    continue  # a redelivered pass: stored, and its event queued, the first time
                event = alerts.queue_event(session, recorded.alert, recorded.kind, self.consumer)
                if recorded.new_alert and self.outbox is not None:
                    webhook.enqueue(session, recorded.alert, event.body)
                told.append((recorded.alert.id, recorded.alert.entry_id, recorded.kind))
            session.commit()
        for _alert_id, _entry_id, kind in told:
            ALERTS_RAISED.labels(kind).inc()
        fault_point("matcher.after_commit")
        if self.outbox is not None:
            self.outbox.wake.set()
        if self.relay_wake is not None:
            self.relay_wake.set()
        for alert_id, entry_id, kind in told:
            log.info("watchlist.hit", extra={"alert_id": alert_id, "entry_id": entry_id, "kind": kind})

    def sweep_expired(self) -> None:
        """Mark ended watches expired in PostgreSQL, logging their removal, and bring the Redis index up
        to date (matching stopped at their end already: the copy checks each watch's validity). Also
        keeps an idle matcher on the status page (the matching thread reports only with a batch)."""
        with self.sessions() as session:
            ended = service.expire_due(session)
            session.commit()
            if ended:
                index.mirror(self.bus, session)
        if self.index.version is not None:
            self.reporter.report(self.index.version)

    def read(self) -> list[RawMessage]:
        """This consumer's own unacked passes (after a start or a failure), then passes left pending by
        dead consumers (XAUTOCLAIM, at most once a second), then new ones; `retrying` tells the first two
        from the last."""
        batch = self.stream.read()
        self._take_state(batch)
        self.retrying = batch.retrying
        return batch.messages

    def _take_state(self, batch: Batch[RawMessage]) -> None:
        """Only a read of new passes brings the index state (read right after them) with it."""
        state: Any = batch.extras[0] if batch.extras else None
        self._read_state = None if state is None else [v.decode() if v is not None else None for v in state]

    def _handle_batch(self, batch: Batch[RawMessage]) -> None:
        self._take_state(batch)
        self.handle(batch.messages)

    def flush_acks(self) -> None:
        """Ack the passes handled since the last read (normally the next read's pipeline does)."""
        self.stream.flush_acks()

    def step(self) -> bool:
        """Read and handle one batch; False if some pass failed on its own and stays pending."""
        return self.stream.step(self._handle_batch)

    def retry(self, messages: list[RawMessage]) -> bool:
        """Handle passes read again (as a batch, then one by one); a pass failing on its own after
        `max_deliveries` deliveries is dead-lettered. Returns False if some pass failed and stays pending."""
        return self.stream.retry(self._handle_batch, Batch(messages, retrying=True))

    def sweep_until(self, stop: threading.Event) -> None:
        """The expiry sweep, on a thread of its own so it never delays matching."""
        while not stop.wait(self.settings.expiry_sweep_s):
            try:
                self.sweep_expired()
            except (RedisError, SQLAlchemyError) as exc:
                log.warning("watchlist.sweep_failed", extra={"error": str(exc)[:200]})

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set; survives Redis restarts (reconnects, rebuilds, re-reads pending)."""
        helpers = [threading.Thread(target=self.sweep_until, args=(stop,), name="watchlist-sweep", daemon=True)]
        if self.outbox is not None:
            helpers.append(threading.Thread(target=self.outbox.run, args=(stop,), name="watchlist-webhook",
                                            daemon=True))
        for helper in helpers:
            helper.start()
        self.stream.run(stop, self._handle_batch, on_start=self.ensure_index, retry_wait_s=RETRY_WAIT_S)
        if self.outbox is not None:
            self.outbox.wake.set()  # out of its wait, to see `stop`
        for helper in helpers:
            helper.join(timeout=10)
        self.raw.close()


def _index_state(pipe: Pipeline) -> None:
    pipe.mget(READY_KEY, VERSION_KEY, EPOCH_KEY)  # the index state as of right after the read


def start_matcher_thread(bus: Redis, sessions: sessionmaker[Session], stop: threading.Event,
                         consumer: str | None = None, data_dir: Path | None = None,
                         settings: WatchlistSettings | None = None,
                         relay_wake: threading.Event | None = None) -> threading.Thread:
    """Run a matcher inside another process (`checkpoint serve`); it stops when `stop` is set."""
    matcher = Matcher(bus, sessions, consumer or default_consumer("-serve"), settings, data_dir=data_dir)
    matcher.relay_wake = relay_wake
    thread = threading.Thread(target=matcher.run, args=(stop,), name="watchlist-matcher", daemon=True)
    thread.start()
    return thread
