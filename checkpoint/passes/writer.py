"""The passes writer: consumer group `passes` on `checkpoint:reads` -> PostgreSQL -> `checkpoint:passes`.

Per batch: check each packed record (passes/record.py), park what cannot be stored (dead
letter), make sure the day partitions exist, store the batch (each COPY line is the record's stored
values plus position and receive time, idempotent by pass id), commit, then append a PassEvent
(the record plus lat and lon) for every pass of the batch (also those already
stored: the previous writer may have died between its commit and its XADD; consumers are
idempotent on pass_id) and XACK, both in one Redis script. A process killed at any point leaves
its batch pending; the next read claims it back, so nothing is lost and nothing stored twice.
`run` overlaps the steps: a second thread COPYs and commits batch N while this one reads and
checks batch N+1, then publishes batch N while batch N+1 is COPYed (step_overlapped).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import hiredis
import psycopg2
from redis import Redis
from redis.exceptions import NoScriptError
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from checkpoint.core.bus import PASSES_STREAM, READS_STREAM, Fields, Message, send_packed
from checkpoint.core.faults import fault_point
from checkpoint.core.metrics import PASSES_STORED
from checkpoint.core.stream_trim import PeriodicTrim
from checkpoint.core.streams import Batch, StreamConsumer
from checkpoint.passes import partitions, store
from checkpoint.passes.record import EVENT_KEY, checked, record_of
from checkpoint.sites.models import Checkpoint

log = logging.getLogger(__name__)

GROUP = "passes"
TRIM_EVERY_S = 60.0  # every declared stream trimmed to what all its groups acknowledged (core/stream_trim.py)
STATS_EVERY_S = 10.0


# KEYS: passes stream, reads stream; ARGV: group, the event field's name, then per message its id and
# its event value (one field: the packed record with lat and lon appended).
_PUBLISH = """
local ids = {}
for i = 3, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[i + 1])
end
redis.call('XACK', KEYS[2], ARGV[1], unpack(ids))
return #ids
"""
PUBLISH_CHUNK = 1000  # passes per script call: Redis serves no one else while it runs (~ms)
Row = tuple[str, Fields, str, int, date]  # message id, stream fields, packed record, checkpoint id, UTC day
Stored = tuple[list[Row], list[tuple[Row, str]]]  # rows stored (or stored before), rows refused with the reason


class PassesLeftPending(RuntimeError):
    """Some passes read again failed on their own and stay pending: the loop waits before reading them again."""


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident() % 10_000}"


@dataclass
class WriterStats:
    batches: int = 0
    passes: int = 0
    inserted: int = 0
    dead: int = 0


@dataclass
class PassWriter:
    """One consumer of the group; several may run (processes or threads), each with its own name."""

    engine: Engine
    bus: Redis
    consumer: str = field(default_factory=default_consumer)
    batch_size: int = 5000
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    stats: WriterStats = field(default_factory=WriterStats)
    _positions: dict[int, store.Position] = field(default_factory=dict)
    _days: set[date] = field(default_factory=set)
    _position_text: dict[int, tuple[str, str]] = field(default_factory=dict)  # repr(lat), repr(lon)
    _publish_sha: str = ""
    _in_flight: Future[Stored] | None = None  # the batch the copier thread is storing (step_overlapped)
    _stream: StreamConsumer[Message] | None = None

    def __post_init__(self) -> None:
        self._publish_sha = hashlib.sha1(_PUBLISH.encode()).hexdigest()  # Redis's name for the script

    @property
    def stream(self) -> StreamConsumer[Message]:
        """This writer's consumer of the reads stream; it acks in the publish script, after the commit."""
        if self._stream is None or self._stream.consumer != self.consumer:
            self._stream = StreamConsumer(self.bus, READS_STREAM, GROUP, self.consumer, count=self.batch_size,
                                          block_ms=self.block_ms, claim_idle_ms=self.claim_idle_ms,
                                          handler_acks=True)
        return self._stream

    def run(self, stop: threading.Event) -> None:
        """Write batches until `stop` is set, each COPY overlapped with Redis work (step_overlapped);
        errors other than refusals are logged and the batches read again (core/streams.py)."""
        last_stats = time.monotonic()
        trim = PeriodicTrim(self.bus, TRIM_EVERY_S)
        started = False
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="passes-copy") as copier:
            while not stop.is_set():
                try:
                    if not started:
                        self.stream.start()
                        started = True
                    self.step_overlapped(copier)
                    trim()
                except Exception:
                    log.exception("passes.writer_error", extra={"consumer": self.consumer})
                    self._in_flight, started = None, False  # what was in flight stays pending: read again first
                    self.stream.failed()
                    stop.wait(1.0)
                if time.monotonic() - last_stats > STATS_EVERY_S:
                    last_stats = time.monotonic()
                    log.info("passes.writer_stats", extra={"consumer": self.consumer, **self.stats.__dict__})
            self.finish_in_flight()

    def step(self) -> int:
        """Read one batch, store and publish it; returns the number of messages handled."""
        batch = self.stream.read()
        if batch.retrying:
            self.stream.retry(self._handle_batch, batch)
        elif batch.messages:
            self.handle(batch.messages)
        return len(batch.messages)

    def step_overlapped(self, copier: Executor) -> int:
        """Read and check the next batch while `copier` COPYs the one before; then start this batch's COPY
        and publish the one before while it runs. Returns the number of messages read.

        On 2 cores PostgreSQL's COPY and the Redis work (read, check, publish) then run side by
        side instead of one after the other. Each batch is still published and acked only after
        its own commit. While a batch is in flight the read does not wait for new entries, so a
        lone pass is published as soon as it is stored. Entries delivered before (after a failure, or
        claimed from a dead writer) are handled on their own, not overlapped (StreamConsumer.retry).
        """
        in_flight, self._in_flight = self._in_flight, None
        batch = self.stream.read(self.block_ms if in_flight is None else 1)
        if batch.retrying:
            if in_flight is not None:
                self._finish(in_flight.result())
            if not self.stream.retry(self._handle_batch, batch):
                raise PassesLeftPending(f"{len(batch.messages)} passes read again; some failed and stay pending")
            return len(batch.messages)
        rows, suffixes = self._prepare(batch.messages)
        done = in_flight.result() if in_flight is not None else None  # raises what the COPY raised
        if rows:
            self._in_flight = copier.submit(self._store, rows, suffixes)
        if done is not None:
            self._finish(done)
        return len(batch.messages)

    def finish_in_flight(self) -> None:
        """Wait for the batch being COPYed, and publish it (before stopping)."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            self._finish(in_flight.result())

    def handle(self, messages: Sequence[Message]) -> None:
        """Check, store and publish one batch."""
        rows, suffixes = self._prepare(messages)
        self._finish(self._store(rows, suffixes) if rows else ([], []))

    def _handle_batch(self, batch: Batch[Message]) -> None:
        self.handle(batch.messages)

    def _prepare(self, messages: Sequence[Message]) -> tuple[list[Row], dict[int, str]]:
        """The rows that can be stored, and each checkpoint's COPY line suffix; the others are dead-lettered."""
        rows: list[Row] = []
        half = len(messages) // 2
        for at, (msg_id, fields) in enumerate(messages):
            if at == half:
                fault_point("writer.mid_batch")
            try:
                record = record_of(fields)
                rows.append((msg_id, fields, record, *checked(record)))
            except (KeyError, ValueError, TypeError) as exc:
                self._refuse(msg_id, fields, f"malformed captured pass: {exc!r}")
        unknown = {row[3] for row in rows} - self._positions.keys()
        if unknown:
            self._load_positions(unknown)
        known = []
        for row in rows:
            if row[3] in self._positions:
                known.append(row)
            else:
                self._refuse(row[0], row[1], f"unknown checkpoint {row[3]}")
        received = datetime.now(UTC).isoformat()
        return known, {cp: store.line_suffix(lat, lon, received) for cp, (lat, lon) in self._position_text.items()}

    def _finish(self, done: Stored) -> None:
        """After the commit: park the passes PostgreSQL refused, publish and ack the others."""
        kept, refused = done
        for (msg_id, fields, *_), reason in refused:
            self._refuse(msg_id, fields, reason)
        if kept:
            self._publish(kept)
        self.stats.batches += 1
        self.stats.passes += len(kept)

    def _store(self, rows: list[Row], suffixes: dict[int, str]) -> Stored:
        """COPY the batch (each record's stored values and its checkpoint's suffix) and commit; row by row
        when PostgreSQL refuses a value. Returns the rows stored (or stored before) and those refused.

        Runs on the copier thread: touches only the database, `_days` and `stats.inserted`.
        """
        days = {row[4] for row in rows}
        if not days <= self._days:
            with self.engine.begin() as conn:  # its own transaction: DDL locks the parent briefly
                for day in sorted(days - self._days):
                    partitions.ensure_day_partitions(conn, day, day)
            self._days |= days
        data = "".join([store.stored_line(record, suffixes[cp]) for _, _, record, cp, _ in rows])
        with self.engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            conn.execute(text("SELECT 1"))  # begins the transaction the COPY joins
            try:
                self.stats.inserted += store.insert_copy_text(raw, data, len(rows))
                conn.commit()
                PASSES_STORED.inc(len(rows))
                fault_point("writer.after_commit")
                return rows, []
            except (psycopg2.DataError, psycopg2.IntegrityError):
                conn.rollback()
                conn.execute(text("SELECT 1"))
            done = self._store_one_by_one(raw, rows, suffixes)
            conn.commit()
            PASSES_STORED.inc(len(done[0]))
            fault_point("writer.after_commit")
            return done

    def _store_one_by_one(self, raw: Any, rows: list[Row], suffixes: dict[int, str]) -> Stored:
        """The slow path for a batch with a value PostgreSQL refuses: each row in its own savepoint."""
        kept: list[Row] = []
        refused: list[tuple[Row, str]] = []
        with raw.cursor() as cur:
            for row in rows:
                cur.execute("SAVEPOINT one_pass")
                try:
                    self.stats.inserted += store.insert_copy_text(raw, store.stored_line(row[2], suffixes[row[3]]), 1)
                except (psycopg2.DataError, psycopg2.IntegrityError) as exc:
                    cur.execute("ROLLBACK TO SAVEPOINT one_pass")
                    refused.append((row, f"malformed captured pass: {str(exc).strip()}"))
                    continue
                cur.execute("RELEASE SAVEPOINT one_pass")
                kept.append(row)
        return kept, refused

    def _publish(self, stored: list[Row]) -> None:
        """The PassEvent of each pass (its record with lat and lon appended) and the acks, in Redis.

        One script call per PUBLISH_CHUNK passes: XADDs then XACK, atomic, so a pass is never acked
        without its event; the arguments packed once (hiredis) instead of a command per pass.
        """
        suffixes = {cp: f"\t{lat}\t{lon}" for cp, (lat, lon) in self._position_text.items()}
        for first in range(0, len(stored), PUBLISH_CHUNK):
            args: list[str] = ["EVALSHA", self._publish_sha, "2", PASSES_STREAM, READS_STREAM, GROUP, EVENT_KEY]
            for msg_id, _, record, checkpoint_id, _ in stored[first:first + PUBLISH_CHUNK]:
                args += (msg_id, record + suffixes[checkpoint_id])
            self._send_packed(hiredis.pack_command(tuple(args)))  # type: ignore[arg-type]  # stub: a 1-tuple

    def _send_packed(self, packed: bytes) -> None:
        """Send the packed script call; a Redis that forgot the script (restarted) gets it again.

        redis-py would re-check each of the ~2,000 arguments in Python before hiredis packs them.
        """
        try:
            send_packed(self.bus, packed)
        except NoScriptError:  # the script's sha is its content's: load it and send the same bytes
            self.bus.script_load(_PUBLISH)
            send_packed(self.bus, packed)

    def _refuse(self, msg_id: str, fields: Fields, reason: str) -> None:
        self.stats.dead += 1
        log.warning("passes.refused", extra={"msg_id": msg_id, "reason": reason[:200]})
        self.stream.dead_letter(msg_id, fields, reason)

    def _load_positions(self, ids: set[int]) -> None:
        with Session(self.engine) as session:
            rows = session.execute(select(Checkpoint.id, Checkpoint.lat, Checkpoint.lon)
                                   .where(Checkpoint.id.in_(ids)))
            self._positions.update({row[0]: (row[1], row[2]) for row in rows})
        self._position_text.update({cp: (repr(lat), repr(lon)) for cp, (lat, lon) in self._positions.items()})


def freeze_startup_objects() -> None:
    """Take the objects start-up made (modules, SQLAlchemy's metadata, ...) out of the collector's scans.

    A batch allocates some 20,000 lists, dicts and tuples; the full collections they trigger walked
    every object of the process each time: about half the writer's CPU (17.8 -> 9.0 us a pass with
    gc.freeze(), 100,000 passes, see docs/BENCHMARKS.md). Call once, after start-up.
    """
    gc.freeze()


def ensure_partitions_ahead(engine: Engine, days_ahead: int = 7) -> None:
    """Today's and the coming days' partitions (also done at start-up), so ingest never waits on DDL."""
    today = datetime.now(UTC).date()
    with engine.begin() as conn:
        partitions.ensure_day_partitions(conn, today, today + timedelta(days=days_ahead))
