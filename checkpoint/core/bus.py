"""The Redis connection (streams, sets, hashes, pub/sub) shared by every domain."""

from __future__ import annotations

import logging
from typing import Any

import hiredis
from redis import Redis

# A hung or unreachable Redis must fail a call, not hang the process: every BLOCK we issue is shorter
# than SOCKET_TIMEOUT_S (reads ≤ 1 s, the live stream's heartbeat 10 s).
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 30.0


def redis_client(url: str) -> Redis:
    """The one way a process opens its Redis client: text replies, health checks and timeouts."""
    tcp = {} if url.startswith("unix:") else {"socket_keepalive": True}  # (a local socket has no keepalive)
    return Redis.from_url(url, decode_responses=True, health_check_interval=30,
                          socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S, **tcp)


class Bus:
    """The process's Redis client, set once at start-up."""

    client: Redis | None = None

    @classmethod
    def configure(cls, url: str) -> Redis:
        cls.client = redis_client(url)
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


def raw_call(bus: Redis, *args: str) -> Any:
    """One command's reply as hiredis parsed it, without redis-py's reply callbacks.

    Those build each stream entry's dict in pure Python: for a batch of 5,000 one-field entries
    they cost more than the rest of the read. Error replies raise as with any command.
    """
    return send_packed(bus, hiredis.pack_command(args))  # type: ignore[arg-type]  # stub: a 1-tuple


def send_packed(bus: Redis, packed: bytes) -> Any:
    """Send one command packed by hiredis (no per-argument checks in Python) and return its raw reply."""
    from redis.exceptions import ResponseError

    pool = bus.connection_pool
    conn: Any = pool.get_connection()  # the stubs leave its methods untyped
    try:
        conn.send_packed_command([packed])
        return conn.read_response()
    except ResponseError:
        raise  # the connection is fine: its reply was read
    except BaseException:
        conn.disconnect()  # a reply may be left unread: this connection must not be reused as is
        raise
    finally:
        pool.release(conn)


def dead_letter(bus: Redis, stream: str, group: str, msg_id: str, fields: Fields, reason: str) -> None:
    """Park a refused message with its reason, then ack it so it is not retried forever."""
    parked: dict[Any, Any] = {**fields, "_stream": stream, "_id": msg_id, "_group": group, "_reason": reason[:500]}
    dead_id = bus.xadd(DEAD_STREAM, parked)
    bus.xack(stream, group, msg_id)
    logging.getLogger(__name__).error("core.dead_lettered", extra={"stream": stream, "group": group, "msg_id": msg_id,
                                                                   "dead_id": str(dead_id), "reason": reason[:200]})
