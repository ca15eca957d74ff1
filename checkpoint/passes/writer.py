"""The passes writer: consumer group `passes` on `checkpoint:reads` -> PostgreSQL -> `checkpoint:passes`.

(Once a second it also copies capture's feed state changes into PostgreSQL: see capture/feed_history.py.)

Per batch: parse, park what cannot be stored (dead letter), make sure the day partitions exist,
store the batch (COPY, idempotent by pass id), commit, then append a PassEvent for every pass of
the batch (also those already stored: the previous writer may have died between its commit and
its XADD; consumers are idempotent on pass_id), then XACK. A process killed at any point leaves
its batch pending; the next read claims it back, so nothing is lost and nothing stored twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from checkpoint.capture import feed_history
from checkpoint.capture.records import CapturedPass
from checkpoint.core.bus import PASSES_STREAM, READS_STREAM, Fields, Message, dead_letter, ensure_group, read_batch
from checkpoint.passes import partitions, store
from checkpoint.sites.models import Checkpoint

log = logging.getLogger(__name__)

GROUP = "passes"
STREAM_KEEP_S = 24 * 3600  # both streams are trimmed by age, never by length
TRIM_EVERY_S = 60.0
FEED_CHANGES_EVERY_S = 1.0
STATS_EVERY_S = 10.0


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
    _last_trim: float = 0.0
    _last_feed_changes: float = 0.0

    def run(self, stop: threading.Event) -> None:
        """Write batches until `stop` is set; errors other than refusals are logged and retried."""
        ensure_group(self.bus, READS_STREAM, GROUP)
        last_stats = time.monotonic()
        while not stop.is_set():
            try:
                self.step()
                if time.monotonic() - self._last_feed_changes > FEED_CHANGES_EVERY_S:
                    self.store_feed_changes()
                if time.monotonic() - self._last_trim > TRIM_EVERY_S:
                    self.trim_streams()
            except Exception:
                log.exception("passes.writer_error", extra={"consumer": self.consumer})
                stop.wait(1.0)  # the batch stays pending and is claimed back after claim_idle_ms
            if time.monotonic() - last_stats > STATS_EVERY_S:
                last_stats = time.monotonic()
                log.info("passes.writer_stats", extra={"consumer": self.consumer, **self.stats.__dict__})

    def step(self) -> int:
        """Read one batch and store it; returns the number of messages handled."""
        messages = read_batch(self.bus, READS_STREAM, GROUP, self.consumer, count=self.batch_size,
                              block_ms=self.block_ms, min_idle_ms=self.claim_idle_ms)
        if messages:
            self.handle(messages)
        return len(messages)

    def handle(self, messages: Sequence[Message]) -> None:
        good: list[tuple[str, Fields, CapturedPass]] = []
        for msg_id, fields in messages:
            try:
                good.append((msg_id, fields, CapturedPass.from_fields(fields)))
            except (KeyError, ValueError, TypeError) as exc:
                self._refuse(msg_id, fields, f"malformed captured pass: {exc!r}")
        unknown = {item.checkpoint_id for _, _, item in good} - self._positions.keys()
        if unknown:
            self._load_positions(unknown)
        stored = []
        for msg_id, fields, item in good:
            if item.checkpoint_id in self._positions:
                stored.append((msg_id, fields, item))
            else:
                self._refuse(msg_id, fields, f"unknown checkpoint {item.checkpoint_id}")
        if stored:
            self._store([item for _, _, item in stored])
            self._publish(stored)
        self.stats.batches += 1
        self.stats.passes += len(stored)

    def _store(self, passes: list[CapturedPass]) -> None:
        days = {item.captured_at.astimezone(UTC).date() for item in passes}
        if not days <= self._days:
            with self.engine.begin() as conn:  # its own transaction: DDL locks the parent briefly
                for day in sorted(days - self._days):
                    partitions.ensure_day_partitions(conn, day, day)
            self._days |= days
        with self.engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            conn.execute(text("SELECT 1"))  # begins the transaction the COPY joins
            self.stats.inserted += store.insert_passes(raw, passes, self._positions, datetime.now(UTC))
            conn.commit()

    def _publish(self, stored: list[tuple[str, Fields, CapturedPass]]) -> None:
        """PassEvent.to_fields() of each pass (the captured fields plus lat/lon), then the acks."""
        pipe = self.bus.pipeline(transaction=False)
        for _msg_id, fields, item in stored:
            lat, lon = self._positions[item.checkpoint_id]
            event: dict[Any, Any] = {**fields, "lat": repr(lat), "lon": repr(lon)}
            pipe.xadd(PASSES_STREAM, event)
        pipe.xack(READS_STREAM, GROUP, *[msg_id for msg_id, _, _ in stored])
        pipe.execute()

    def store_feed_changes(self) -> None:
        """Capture's feed state changes into PostgreSQL too (the other stream this writer keeps)."""
        self._last_feed_changes = time.monotonic()
        with Session(self.engine) as session:
            while feed_history.store_feed_changes(session, self.bus, self.consumer) > 0:
                pass

    def _refuse(self, msg_id: str, fields: Fields, reason: str) -> None:
        self.stats.dead += 1
        log.warning("passes.refused", extra={"msg_id": msg_id, "reason": reason[:200]})
        dead_letter(self.bus, READS_STREAM, GROUP, msg_id, fields, reason)

    def _load_positions(self, ids: set[int]) -> None:
        with Session(self.engine) as session:
            rows = session.execute(select(Checkpoint.id, Checkpoint.lat, Checkpoint.lon)
                                   .where(Checkpoint.id.in_(ids)))
            self._positions.update({row[0]: (row[1], row[2]) for row in rows})

    def trim_streams(self) -> None:
        """Drop stream entries older than a day, never one the group has not yet acknowledged."""
        self._last_trim = time.monotonic()
        cutoff_ms = int((time.time() - STREAM_KEEP_S) * 1000)
        self.bus.xtrim(PASSES_STREAM, minid=f"{cutoff_ms}-0", approximate=True)
        keep = [cutoff_ms]
        groups: Any = self.bus.xinfo_groups(READS_STREAM)
        for group in groups:
            keep.append(int(str(group["last-delivered-id"]).split("-")[0]))
            if group.get("pending"):
                pending: Any = self.bus.xpending(READS_STREAM, group["name"])
                keep.append(int(str(pending["min"]).split("-")[0]))
        self.bus.xtrim(READS_STREAM, minid=f"{min(keep)}-0", approximate=True)


def ensure_partitions_ahead(engine: Engine, days_ahead: int = 7) -> None:
    """Today's and the coming days' partitions (also done at start-up), so ingest never waits on DDL."""
    today = datetime.now(UTC).date()
    with engine.begin() as conn:
        partitions.ensure_day_partitions(conn, today, today + timedelta(days=days_ahead))
