"""The Redis connection (streams, sets, hashes, pub/sub) shared by every domain."""

from __future__ import annotations

from typing import Any

from redis import Redis


class Bus:
    """The process's Redis client, set once at start-up."""

    client: Redis | None = None

    @classmethod
    def configure(cls, url: str) -> Redis:
        cls.client = Redis.from_url(url, decode_responses=True, health_check_interval=30)
        return cls.client

    @classmethod
    def close(cls) -> None:
        if cls.client is not None:
            cls.client.close()
        cls.client = None


def get_bus() -> Redis:
    if Bus.client is None:
        raise RuntimeError("redis not configured: call Bus.configure() at start-up")
    return Bus.client


# Stream names shared by producers and consumers (each domain owns what it appends).
READS_STREAM = "checkpoint:reads"  # capture -> passes writer: one captured pass per vehicle
PASSES_STREAM = "checkpoint:passes"  # passes writer -> watchlist, trajectory, coverage: stored passes
DEAD_STREAM = "checkpoint:dead"  # messages a consumer refused with a DomainError, with the reason

Fields = dict[str, str]
Message = tuple[str, Fields]


def ensure_group(bus: Redis, stream: str, group: str, start_id: str = "0") -> None:
    """Create the consumer group (and the stream) if missing; safe to call from every consumer."""
    from redis.exceptions import ResponseError

    try:
        bus.xgroup_create(stream, group, id=start_id, mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def read_batch(bus: Redis, stream: str, group: str, consumer: str, count: int = 500,
               block_ms: int = 1000, min_idle_ms: int = 30_000) -> list[Message]:
    """Entries for this consumer: first those left pending by dead consumers (XAUTOCLAIM), then new ones.

    Delivery is at-least-once: the caller acks after its work is committed, and its handler is
    idempotent on the upstream id. A group lost with Redis (restart without persistence) is re-created.
    """
    from redis.exceptions import ResponseError

    try:
        claimed: Any = bus.xautoclaim(stream, group, consumer, min_idle_time=min_idle_ms, start_id="0-0",
                                      count=count)
        reclaimed: list[Message] = [(msg_id, fields) for msg_id, fields in claimed[1] if fields]
        if reclaimed:
            return reclaimed
        reply: Any = bus.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
    except ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        ensure_group(bus, stream, group)
        return []
    return [(msg_id, fields) for _stream, entries in (reply or []) for msg_id, fields in entries]


def dead_letter(bus: Redis, stream: str, group: str, msg_id: str, fields: Fields, reason: str) -> None:
    """Park a refused message with its reason, then ack it so it is not retried forever."""
    parked: dict[Any, Any] = {**fields, "_stream": stream, "_id": msg_id, "_group": group, "_reason": reason[:500]}
    bus.xadd(DEAD_STREAM, parked)
    bus.xack(stream, group, msg_id)
