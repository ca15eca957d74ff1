"""The matcher: consumes `checkpoint:passes` in group "watchlist", matches each pass against the index.

Any number of matchers, on any machine, share the group. Each keeps a copy of the watch index in
memory (local_index.py) and checks it against Redis once per batch (an MGET right after the read), so
a change is in force on every matcher from its next batch; candidates are verified here (validity
window, scope, colour, the pattern itself). Hits are committed to PostgreSQL with their alert events
(the outbox that relay.py publishes to `checkpoint:alerts`), then the passes are acked (in the pipeline
of the next read); a new alert's webhook delivery is queued in the same transaction (webhook.py). A
batch that fails is read again pass by pass, and a pass that keeps failing is dead-lettered after `max_deliveries`
(redelivery.py). If the index is missing (Redis emptied or restarted without persistence) the
matcher rebuilds it from PostgreSQL before matching.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import PASSES_STREAM, dead_letter, ensure_group
from checkpoint.core.config import get_settings
from checkpoint.core.faults import fault_point
from checkpoint.passes.record import PassEvent
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import alerts, index, service, webhook
from checkpoint.watchlist.alerts import Hit
from checkpoint.watchlist.index import EPOCH_KEY, READY_KEY, VERSION_KEY, WatchSpec
from checkpoint.watchlist.local_index import IndexCopy
from checkpoint.watchlist.predict import Predictor
from checkpoint.watchlist.raw_stream import RawMessage, decoded, plate_of, raw_client
from checkpoint.watchlist.redelivery import delivery_counts, is_infrastructure_error
from checkpoint.watchlist.settings import WatchlistSettings, get_watchlist_settings
from checkpoint.watchlist.webhook import WebhookOutbox

log = logging.getLogger(__name__)
GROUP = "watchlist"
REBUILD_WAIT_S = 60.0
CLAIM_IDLE_MS = 30_000  # a pass unacked this long by another consumer is taken over (it has died)
CLAIM_EVERY_S = 1.0
RETRY_WAIT_S = 0.5


def default_consumer(suffix: str = "") -> str:
    return f"{socket.gethostname()}-{os.getpid()}{suffix}"


class Matcher:
    def __init__(self, bus: Redis, sessions: sessionmaker[Session], consumer: str | None = None,
                 settings: WatchlistSettings | None = None, batch: int = 500, data_dir: Path | None = None) -> None:
        self.bus, self.sessions = bus, sessions
        self.raw = raw_client(bus)  # the pass stream, read as bytes (raw_stream.py)
        self.data_dir = data_dir or get_settings().data_dir  # where pass images are, and alerts keep theirs
        self.consumer = consumer or default_consumer()
        self.settings = settings or get_watchlist_settings()
        self.batch = batch
        self.index = IndexCopy()
        self.districts: dict[int, str] = {}
        self.predictor = Predictor(sessions)
        self.outbox = WebhookOutbox(sessions, self.settings.webhook_url, self.settings.webhook_timeout_s,
                                    self.settings.webhook_max_backoff_s) if self.settings.webhook_url else None
        self._own_pending = True  # first read this consumer's unacked entries (after a start or an error)
        self.retrying = False  # the last read returned passes delivered before
        self._next_claim_at = 0.0
        self._unacked: list[bytes] = []  # handled and committed, acked with the next read
        self._read_state: list[str | None] | None = None  # ready/version/epoch read right after the passes
        self.matched = 0
        self.relay_wake: threading.Event | None = None  # set after each commit with hits (a relay in this process)

    # --- the index --------------------------------------------------------------------------------

    def ensure_index(self) -> None:
        """Rebuild the index from PostgreSQL if Redis lost it; wait if another matcher is rebuilding."""
        deadline = time.monotonic() + REBUILD_WAIT_S
        while not self.bus.exists(READY_KEY):
            if index.rebuild(self.bus, self.sessions):
                log.info("watchlist.index_rebuilt", extra={"consumer": self.consumer})
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the watch index was not rebuilt within 60 s")
            time.sleep(0.05)  # another matcher holds the rebuild lock

    def sync(self, state: list[str | None] | None = None) -> None:
        """Bring the local copy in line with Redis: ready/version/epoch as read right after the batch (or
        an MGET now), more round trips only after a change."""
        for _attempt in range(3):
            current: Any = state or self.bus.mget(READY_KEY, VERSION_KEY, EPOCH_KEY)
            state = None
            ready, version, epoch = current
            if not ready:
                self.ensure_index()  # Redis lost the index: rebuilt from PostgreSQL, then read again
                continue
            if not self.index.current(version, epoch):
                self.index.catch_up(self.bus, version, epoch)
            return
        raise RuntimeError("the watch index keeps disappearing")

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
        dead_letter(self.bus, PASSES_STREAM, GROUP, msg_id.decode(), decoded(fields, errors="replace"),
                    f"not a pass event: {exc!r}")

    def _verified(self, candidates: Iterable[tuple[PassEvent, set[int]]]) -> list[Hit]:
        specs = self.index.specs
        hits: list[Hit] = []
        for event, ids in candidates:
            for entry_id in ids:
                spec = specs.get(entry_id)
                if spec is not None and (why := self.verify(spec, event)) is not None:
                    hits.append(Hit(event, entry_id, why, self.district_of(event.captured.checkpoint_id)))
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
            self._unacked += [msg_id for msg_id, _ in messages]  # acked with the next read (one round trip)
        self.matched += len(messages)
        return len(hits)

    def record(self, hits: list[Hit]) -> None:
        """One transaction for the batch's hits and their alert events (the outbox the relay publishes from),
        so a crash anywhere after the commit loses nothing: the relay tells the dispatchers."""
        unique = {(hit.event.captured.pass_id, hit.entry_id): hit for hit in hits}  # a pass appended twice
        told: list[tuple[int, int, str]] = []
        with self.sessions() as session:
            for hit in unique.values():
                predicted = self.predictor.predict(hit.event.captured.checkpoint_id, hit.event.captured.captured_at)
                recorded = alerts.record_hit(session, hit, self.settings, predicted, self.data_dir)
                if not recorded.to_push:
                    continue  # a redelivered pass: stored, and its event queued, the first time
                first = recorded.alert.pass_id == hit.event.captured.pass_id
                kind = "new" if first else "repeat"
                event = alerts.queue_event(session, recorded.alert, kind, self.consumer)
                if recorded.new_alert and self.outbox is not None:
                    webhook.enqueue(session, recorded.alert, event.body)
                told.append((recorded.alert.id, recorded.alert.entry_id, kind))
            session.commit()
        fault_point("matcher.after_commit")
        if self.outbox is not None:
            self.outbox.wake.set()
        if self.relay_wake is not None:
            self.relay_wake.set()
        for alert_id, entry_id, kind in told:
            log.info("watchlist.hit", extra={"alert_id": alert_id, "entry_id": entry_id, "kind": kind})

    def sweep_expired(self) -> None:
        """Mark ended watches expired in PostgreSQL and drop them from the index (matching stopped already)."""
        with self.sessions() as session:
            ended = service.expire_due(session)
            session.commit()
        for entry in ended:
            index.mirror(self.bus, entry)

    def read(self) -> list[RawMessage]:
        """This consumer's own unacked passes (after a start or a failure), then passes left pending by
        dead consumers (XAUTOCLAIM), then new ones; `retrying` tells the first two from the last."""
        try:
            return self._read()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            ensure_group(self.bus, PASSES_STREAM, GROUP)  # lost with Redis: re-read the stream from its start
            return self._read()

    def _read(self) -> list[RawMessage]:
        self._read_state = None  # only a read of new passes brings the index state with it
        if self._own_pending:
            self.flush_acks()  # before reading this consumer's pending entries, so handled ones are not among them
        if self._own_pending:
            reply: Any = self.raw.xreadgroup(GROUP, self.consumer, {PASSES_STREAM: "0"}, count=self.batch)
            mine = [(msg_id, fields) for _stream, entries in (reply or []) for msg_id, fields in entries if fields]
            if mine:
                self.retrying = True
                return mine
            self._own_pending = False
        if time.monotonic() >= self._next_claim_at:  # at most once a second: passes idle for 30 s can wait 1 s more
            claimed: Any = self.raw.xautoclaim(PASSES_STREAM, GROUP, self.consumer, min_idle_time=CLAIM_IDLE_MS,
                                               start_id="0-0", count=self.batch)
            self.retrying = bool(reclaimed := [(msg_id, fields) for msg_id, fields in claimed[1] if fields])
            if reclaimed:
                return reclaimed
            self._next_claim_at = time.monotonic() + CLAIM_EVERY_S
        self.retrying = False
        # One round trip: ack the last batch, read the next, then the index state as of after the read.
        pipe = self.raw.pipeline(transaction=False)
        if self._unacked:
            pipe.xack(PASSES_STREAM, GROUP, *self._unacked)
        pipe.xreadgroup(GROUP, self.consumer, {PASSES_STREAM: ">"}, count=self.batch, block=500)
        pipe.mget(READY_KEY, VERSION_KEY, EPOCH_KEY)
        *_, reply, state = pipe.execute()
        self._unacked = []
        self._read_state = [value.decode() if value is not None else None for value in state]
        return [(msg_id, fields) for _stream, entries in (reply or []) for msg_id, fields in entries]

    def flush_acks(self) -> None:
        """Ack the passes handled since the last read (normally the next read's pipeline does)."""
        if self._unacked:
            self.raw.xack(PASSES_STREAM, GROUP, *self._unacked)
            self._unacked = []

    def step(self) -> bool:
        """Read and handle one batch; False if some pass failed on its own and stays pending."""
        messages = self.read()
        if not messages:
            return True
        if self.retrying:
            return self.retry(messages)
        try:
            self.handle(messages)
        except Exception:
            self._own_pending = True  # the batch is read again, pass by pass
            raise
        return True

    def retry(self, messages: list[RawMessage]) -> bool:
        """Handle passes read again one by one; a pass failing on its own after `max_deliveries`
        deliveries is dead-lettered. Returns False if some pass failed and stays pending."""
        counts = delivery_counts(self.bus, PASSES_STREAM, GROUP, self.consumer,
                                 [msg_id.decode() for msg_id, _ in messages])
        all_done = True
        for msg_id, fields in messages:
            try:
                self.handle([(msg_id, fields)])
            except Exception as exc:
                if is_infrastructure_error(exc):
                    raise
                delivered = counts.get(msg_id.decode(), 1)
                if delivered < self.settings.max_deliveries:
                    log.warning("watchlist.pass_failed", extra={"msg_id": msg_id.decode(), "deliveries": delivered,
                                                                "error": repr(exc)[:200]})
                    all_done = False
                    continue
                dead_letter(self.bus, PASSES_STREAM, GROUP, msg_id.decode(), decoded(fields, errors="replace"),
                            f"failed {delivered} deliveries; last error: {exc!r}")
                log.error("watchlist.pass_dead_lettered", extra={"msg_id": msg_id.decode(), "deliveries": delivered})
        return all_done

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
        started = False
        while not stop.is_set():
            try:
                if not started:
                    ensure_group(self.bus, PASSES_STREAM, GROUP)
                    self.ensure_index()
                    started = True
                if not self.step():
                    stop.wait(RETRY_WAIT_S)  # failed passes stay pending: read them again soon
            except RedisError as exc:
                log.warning("watchlist.redis_error", extra={"consumer": self.consumer, "error": str(exc)[:200]})
                started, self._own_pending = False, True
                stop.wait(0.2)
            except Exception:  # PostgreSQL down, a bug: the batch stays pending and is read again, pass by pass
                log.exception("watchlist.batch_failed", extra={"consumer": self.consumer})
                self._own_pending = True
                stop.wait(1.0)
        try:
            self.flush_acks()
        except RedisError:
            pass  # those passes are delivered again, and handled idempotently
        if self.outbox is not None:
            self.outbox.wake.set()  # out of its wait, to see `stop`
        for helper in helpers:
            helper.join(timeout=10)
        self.raw.close()


def start_matcher_thread(bus: Redis, sessions: sessionmaker[Session], stop: threading.Event,
                         consumer: str | None = None, data_dir: Path | None = None,
                         relay_wake: threading.Event | None = None) -> threading.Thread:
    """Run a matcher inside another process (`checkpoint serve`); it stops when `stop` is set."""
    matcher = Matcher(bus, sessions, consumer or default_consumer("-serve"), data_dir=data_dir)
    matcher.relay_wake = relay_wake
    thread = threading.Thread(target=matcher.run, args=(stop,), name="watchlist-matcher", daemon=True)
    thread.start()
    return thread
