"""One consumer-group reader for every stream worker, and the one routine that trims the streams.

A worker gives `StreamConsumer` a batch handler and gets at-least-once delivery with these rules:
- the group is created at start (with every group declared in STREAM_GROUPS) and again when Redis
  lost it (NOGROUP: restarted without persistence, flushed);
- after a start or a failure the consumer first reads its own pending entries, then (at most every
  `claim_every_s`) takes over entries another consumer left pending `claim_idle_ms` (XAUTOCLAIM:
  that one has died), then reads new ones;
- an entry is acked only after the handler returned (it has committed); a handler is idempotent on
  the entry (a crash between its commit and the ack delivers the entry again). A handler may ack
  itself (the writer acks inside its publish script) or have its acks sent with the next read;
- entries delivered before are handled again as a batch, then one by one; an entry that fails on its
  own (not Redis or PostgreSQL being unreachable) `max_deliveries` times (XPENDING's count) goes to the
  dead letters with the reason.

Trimming (stream_trim.py) keeps every entry some group declared in STREAM_GROUPS has not acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import psycopg2
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from checkpoint.core.bus import PASSES_STREAM, READS_STREAM, Fields, Message, dead_letter, ensure_group, raw_call
from checkpoint.core.faults import fault_point

log = logging.getLogger(__name__)

RawMessage = tuple[bytes, dict[bytes, bytes]]
M = TypeVar("M", Message, RawMessage)

# Which groups read which stream: created up front (by producers and at start), so a consumer that
# has not run yet already holds back the trim. A domain's worker names its group with the same string.
STREAM_GROUPS: dict[str, tuple[str, ...]] = {
    READS_STREAM: ("passes",),
    PASSES_STREAM: ("watchlist", "coverage"),
    "checkpoint:snapshots": ("capture-lpr",),
    "checkpoint:feed_events": ("feed-history",),
}
CLAIM_IDLE_MS = 30_000  # an entry unacked this long by another consumer is taken over (it has died)
CLAIM_EVERY_S = 1.0
MAX_DELIVERIES = 5
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    RedisError, OperationalError, InterfaceError, DisconnectionError, PoolTimeout,
    psycopg2.OperationalError, psycopg2.InterfaceError)  # the writer's COPY runs on the raw psycopg2 connection


def is_infrastructure_error(exc: BaseException) -> bool:
    """Redis or PostgreSQL unreachable: says nothing about the entry, which stays pending however often read."""
    return isinstance(exc, INFRASTRUCTURE_ERRORS)


def ensure_declared_groups(bus: Redis) -> None:
    """Create every declared group that is missing (from the stream's start, so it misses nothing)."""
    for stream, groups in STREAM_GROUPS.items():
        for group in groups:
            ensure_group(bus, stream, group)


@dataclass
class Batch(Generic[M]):
    """Entries read together; `retrying`: delivered before (own pending or claimed from a dead consumer)."""

    messages: list[M]
    retrying: bool = False
    extras: list[Any] = field(default_factory=list)  # replies of the commands pipelined after a read of new ones


Handler = Callable[[Batch[M]], None]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _fields(flat: list[str]) -> Fields:
    return {flat[0]: flat[1]} if len(flat) == 2 else dict(zip(flat[::2], flat[1::2], strict=True))


class StreamConsumer(Generic[M]):
    """One consumer of one group. Text entries (`Message`) by default; with `raw`, a client answering bytes,
    entries come as `RawMessage` (the matcher decodes only what it needs)."""

    def __init__(self, bus: Redis, stream: str, group: str, consumer: str, *, raw: Redis | None = None,
                 count: int = 500, block_ms: int = 1000, claim_idle_ms: int = CLAIM_IDLE_MS,
                 claim_every_s: float = CLAIM_EVERY_S, max_deliveries: int = MAX_DELIVERIES,
                 handler_acks: bool = False, defer_acks: bool = False,
                 pipeline_extras: Callable[[Pipeline], object] | None = None) -> None:
        self.bus, self.raw = bus, raw
        self.stream, self.group, self.consumer = stream, group, consumer
        self.count, self.block_ms = count, block_ms
        self.claim_idle_ms, self.claim_every_s, self.max_deliveries = claim_idle_ms, claim_every_s, max_deliveries
        self.handler_acks = handler_acks  # the handler acks (or calls done()) itself
        self.defer_acks = defer_acks  # done() keeps the ids for the next read's pipeline (one round trip less)
        self.pipeline_extras = pipeline_extras  # more commands for that pipeline (raw consumers)
        self.own_pending = True  # read this consumer's unacked entries first (after a start or a failure)
        self._next_claim_at = 0.0
        self._unacked: list[Any] = []

    # --- reading -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Create the declared groups and this one; the next read starts with this consumer's own pending."""
        ensure_declared_groups(self.bus)
        ensure_group(self.bus, self.stream, self.group)
        self.own_pending = True

    def failed(self) -> None:
        """The last batch failed: it stays pending and is read again first."""
        self.own_pending = True

    def read(self, block_ms: int | None = None) -> Batch[M]:
        """Own pending entries, else entries claimed from dead consumers, else new ones (waiting `block_ms`)."""
        try:
            return self._read(self.block_ms if block_ms is None else block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("stream.group_recreated", extra={"stream": self.stream, "group": self.group})
            ensure_declared_groups(self.bus)  # lost with Redis: every group re-read its stream from its start
            ensure_group(self.bus, self.stream, self.group)
            self._unacked = []  # acks for a group that is gone: those entries went with it
            self.own_pending = True
            return self._read(1)  # (BLOCK 0 would wait for ever)

    def _read(self, block_ms: int) -> Batch[M]:
        if self.own_pending:
            self.flush_acks()  # so that entries handled already are not among this consumer's pending ones
            mine = self._read_own()
            if mine:
                return Batch(mine, retrying=True)
            self.own_pending = False
        if time.monotonic() >= self._next_claim_at:
            self.flush_acks()  # (once a second) entries handled here are never claimed back as if left behind
            claimed = self._claim()
            if claimed:
                return Batch(claimed, retrying=True)
            self._next_claim_at = time.monotonic() + self.claim_every_s
        return self._read_new(block_ms)

    def _read_own(self) -> list[M]:
        if self.raw is not None:
            reply: Any = self.raw.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=self.count)
            entries = [(msg_id, fields) for _stream, items in (reply or []) for msg_id, fields in items]
        else:
            flat: Any = raw_call(self.bus, "XREADGROUP", "GROUP", self.group, self.consumer, "COUNT", str(self.count),
                                 "STREAMS", self.stream, "0")
            entries = [(msg_id, _fields(fields) if fields else None) for msg_id, fields in _per_stream(flat)]
        gone = [msg_id for msg_id, fields in entries if not fields]
        if gone:  # trimmed or deleted while pending (only by hand: trim_streams keeps them): nothing to handle
            self.bus.xack(self.stream, self.group, *gone)
        return [(msg_id, fields) for msg_id, fields in entries if fields]

    def _claim(self) -> list[M]:
        if self.raw is not None:
            claimed: Any = self.raw.xautoclaim(self.stream, self.group, self.consumer, min_idle_time=self.claim_idle_ms,
                                               start_id="0-0", count=self.count)
            return [(msg_id, fields) for msg_id, fields in claimed[1] if fields]
        reply: Any = raw_call(self.bus, "XAUTOCLAIM", self.stream, self.group, self.consumer, str(self.claim_idle_ms),
                              "0-0", "COUNT", str(self.count))
        return [(msg_id, _fields(flat)) for msg_id, flat in reply[1] if flat]  # type: ignore[misc]

    def _read_new(self, block_ms: int) -> Batch[M]:
        if self.raw is None:
            self.flush_acks()
            flat: Any = raw_call(self.bus, "XREADGROUP", "GROUP", self.group, self.consumer, "COUNT", str(self.count),
                                 "BLOCK", str(block_ms), "STREAMS", self.stream, ">")
            return Batch([(msg_id, _fields(fields)) for msg_id, fields in _per_stream(flat)])  # type: ignore[misc]
        # One round trip: ack the last batch, read the next, then the caller's extra commands.
        pipe = self.raw.pipeline(transaction=False)
        if self._unacked:
            pipe.xack(self.stream, self.group, *self._unacked)
        pipe.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=self.count, block=block_ms)
        if self.pipeline_extras is not None:
            self.pipeline_extras(pipe)
        replies = pipe.execute()
        if self._unacked:
            replies = replies[1:]
            self._unacked = []
        reply: Any = replies[0]
        return Batch([(msg_id, fields) for _stream, items in (reply or []) for msg_id, fields in items],
                     extras=replies[1:])

    # --- acking ------------------------------------------------------------------------------------

    def done(self, ids: Iterable[str | bytes]) -> None:
        """The handler returned (it has committed): ack now, or with the next read (`defer_acks`)."""
        fault_point("stream.after_handle")
        if self.defer_acks:
            self._unacked.extend(ids)
            return
        acked = list(ids)
        if acked:
            self.bus.xack(self.stream, self.group, *acked)

    def flush_acks(self) -> None:
        """Send the acks kept for the next read (before stopping, or before reading own pending entries)."""
        if self._unacked:
            self.bus.xack(self.stream, self.group, *self._unacked)
            self._unacked = []

    def dead_letter(self, msg_id: str | bytes, fields: dict[str, str] | dict[bytes, bytes], reason: str) -> None:
        """Park an entry with its reason (copied to the dead-letter stream) and ack it."""
        text = {(key if isinstance(key, str) else key.decode(errors="replace")):
                (value if isinstance(value, str) else value.decode(errors="replace")) for key, value in fields.items()}
        dead_letter(self.bus, self.stream, self.group, _text(msg_id), text, reason)

    # --- handling ----------------------------------------------------------------------------------

    def step(self, handler: Handler[M], block_ms: int | None = None) -> bool:
        """Read and handle one batch; False if some entry failed on its own and stays pending.

        A first failure of new entries raises (after marking them to be read again): the caller logs and waits.
        """
        batch = self.read(block_ms)
        if not batch.messages:
            return True
        if batch.retrying:
            return self.retry(handler, batch)
        try:
            self._handle(handler, batch)
        except Exception:
            self.own_pending = True
            raise
        return True

    def _handle(self, handler: Handler[M], batch: Batch[M]) -> None:
        handler(batch)
        if not self.handler_acks:
            self.done([msg_id for msg_id, _ in batch.messages])

    def retry(self, handler: Handler[M], batch: Batch[M]) -> bool:
        """Entries delivered before: as a batch, then (if that fails) one by one, dead-lettering an entry that
        failed `max_deliveries` deliveries. An infrastructure error raises (they all stay pending)."""
        if len(batch.messages) > 1:
            try:
                self._handle(handler, batch)
                return True
            except Exception as exc:
                self.own_pending = True
                if is_infrastructure_error(exc):
                    raise
        counts = self.delivery_counts([_text(msg_id) for msg_id, _ in batch.messages])
        all_done = True
        for message in batch.messages:
            msg_id = _text(message[0])
            try:
                self._handle(handler, Batch([message], retrying=True))
            except Exception as exc:
                self.own_pending = True
                if is_infrastructure_error(exc):
                    raise
                delivered = counts.get(msg_id, 1)
                if delivered < self.max_deliveries:
                    log.warning("stream.entry_failed", extra={"stream": self.stream, "group": self.group,
                                                              "msg_id": msg_id, "deliveries": delivered,
                                                              "error": repr(exc)[:200]})
                    all_done = False
                    continue
                self.dead_letter(message[0], message[1], f"failed {delivered} deliveries; last error: {exc!r}")
                log.error("stream.entry_dead_lettered", extra={"stream": self.stream, "group": self.group,
                                                               "msg_id": msg_id, "deliveries": delivered})
        return all_done

    def delivery_counts(self, ids: list[str]) -> dict[str, int]:
        """XPENDING's delivery count of each of `ids` (pending with this consumer, in stream order)."""
        if not ids:
            return {}
        pending: Any = self.bus.xpending_range(self.stream, self.group, min=ids[0], max=ids[-1],
                                               count=len(ids) + 100, consumername=self.consumer)
        return {_text(row["message_id"]): int(row["times_delivered"]) for row in pending}

    def run(self, stop: threading.Event, handler: Handler[M], *, on_start: Callable[[], None] | None = None,
            tick: Callable[[], None] | None = None, retry_wait_s: float = 0.5) -> None:
        """Consume until `stop`: survives Redis restarts (reconnects, re-creates the group, re-reads pending) and
        handler failures (the batch stays pending and is read again); `tick` runs after every step."""
        started = False
        while not stop.is_set():
            try:
                if not started:
                    self.start()
                    if on_start is not None:
                        on_start()
                    started = True
                if not self.step(handler):
                    stop.wait(retry_wait_s)  # entries that failed stay pending: read them again soon
                if tick is not None:
                    tick()
            except RedisError as exc:
                log.warning("stream.redis_error", extra={"stream": self.stream, "consumer": self.consumer,
                                                         "error": str(exc)[:200]})
                started = False
                self.own_pending = True
                stop.wait(0.2)
            except Exception:  # PostgreSQL down, a bug: the batch stays pending and is read again
                log.exception("stream.batch_failed", extra={"stream": self.stream, "consumer": self.consumer})
                self.own_pending = True
                stop.wait(1.0)
        try:
            self.flush_acks()
        except RedisError:
            pass  # those entries are delivered again, and handled idempotently


def _per_stream(reply: Any) -> list[Any]:
    """Entries of an XREADGROUP reply as hiredis parsed it (RESP2 list or RESP3 map)."""
    if not reply:
        return []
    per_stream = reply.values() if isinstance(reply, dict) else [item[1] for item in reply]
    return [entry for entries in per_stream for entry in entries]
