"""The dispatchers' live alert stream (Server-Sent Events) that never skips an alert.

Event ids are the alert outbox's event ids (relay.py: dense, in publication order). On connect the
stream replays from PostgreSQL every event in the dispatcher's scope after Last-Event-ID (none: from
now), then follows `checkpoint:alerts`, dropping ids already sent and filling any gap in the ids from
PostgreSQL (a stream trimmed, or lost with Redis). The blocking read runs on an asyncio connection of
its own whose socket timeout exceeds the block time, so an idle stream never times out and holds no
worker thread; a comment line goes out at least every HEARTBEAT_S. While Redis is down the stream
polls PostgreSQL, so alerts still arrive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

import anyio.to_thread
import redis.asyncio
import redis.asyncio.connection
from fastapi import Depends
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from checkpoint.core.db import Database
from checkpoint.watchlist.alerts import ALERTS_STREAM, in_scope
from checkpoint.watchlist.models import DispatcherScope
from checkpoint.watchlist.relay import events_after

log = logging.getLogger(__name__)
HEARTBEAT_S = 10.0
POLL_S = 1.0  # PostgreSQL polling while Redis is down
REPLAY_BATCH = 500
SessionOpener = Callable[[], AbstractContextManager[Session]]
Replayed = tuple[int, str, str]  # event id, kind, body


async def get_event_reader() -> SessionOpener:
    """Short sessions for the stream's replays (it holds none while it waits); tests override it."""
    if Database.sessions is None:
        raise RuntimeError("database not configured: call Database.configure() at start-up")
    return Database.sessions


EventReaderDep = Annotated[SessionOpener, Depends(get_event_reader)]


def follower_client(bus: Redis, block_s: float) -> redis.asyncio.Redis:
    """An asyncio client to `bus`'s server on one connection of its own, whose reads wait longer than a
    blocking read blocks: a stream waits on the event loop, holding no thread."""
    kwargs = bus.connection_pool.connection_kwargs
    settings = {key: kwargs[key] for key in ("host", "port", "db", "username", "password", "decode_responses",
                                             "path") if key in kwargs}
    connection_class = (redis.asyncio.connection.UnixDomainSocketConnection if "path" in settings
                        else redis.asyncio.connection.Connection)
    own = redis.asyncio.ConnectionPool(connection_class=connection_class, max_connections=1,
                                       socket_timeout=block_s + 10.0, socket_connect_timeout=2.0, **settings)
    return redis.asyncio.Redis(connection_pool=own)


def parse_event_id(value: str | None) -> int | None:
    """An outbox event id; anything else (absent, an old stream entry id) means "from now"."""
    return int(value) if value and value.strip().isdigit() else None


def sse(event_id: int, kind: str, body: str) -> str:
    return f"id: {event_id}\nevent: {kind}\ndata: {body}\n\n"


async def live_events(bus: Redis, open_session: SessionOpener, scope: DispatcherScope, start: int,
                      heartbeat_s: float = HEARTBEAT_S, poll_s: float = POLL_S) -> AsyncIterator[str]:
    """The text/event-stream body: replay after event `start`, then live events, heartbeats in between.
    Asynchronous: an open stream (a dispatcher's console, for hours) takes no worker thread while it
    waits; only its short PostgreSQL replays run on one."""
    stream = AlertStream(bus, open_session, scope, heartbeat_s, poll_s)
    try:
        yield "retry: 1000\n\n"
        async for chunk in stream.events(start):
            yield chunk
    finally:
        await stream.close()


class AlertStream:
    def __init__(self, bus: Redis, open_session: SessionOpener, scope: DispatcherScope, heartbeat_s: float,
                 poll_s: float) -> None:
        self.open_session, self.scope = open_session, scope
        self.heartbeat_s, self.poll_s = heartbeat_s, poll_s
        self.follower = follower_client(bus, heartbeat_s)
        self.last = 0  # the newest event id handled (sent, or out of scope)
        self.position: str | None = None  # where the Redis read goes on; None: pin again (or Redis down)
        self.sent_at = time.monotonic()

    async def close(self) -> None:
        await self.follower.aclose()
        await self.follower.connection_pool.disconnect()

    async def events(self, start: int) -> AsyncIterator[str]:
        self.last = start
        while True:
            if self.position is None:
                self.position = await self._pin()
                async for chunk in self._replay():  # after the pin: whatever Redis has past it comes next
                    yield chunk
            if self.position is None:  # Redis is down: poll PostgreSQL
                await asyncio.sleep(self.poll_s)
                for chunk in self._heartbeat():
                    yield chunk
                continue
            try:
                reply: Any = await self.follower.xread({ALERTS_STREAM: self.position}, count=100,
                                                       block=int(self.heartbeat_s * 1000))
            except RedisError as exc:
                log.warning("watchlist.live_stream_redis_down", extra={"error": str(exc)[:200]})
                self.position = None
                continue
            for msg_id, fields in (reply[0][1] if reply else []):
                self.position = msg_id
                async for chunk in self._live(fields):
                    yield chunk
            for chunk in self._heartbeat():
                yield chunk

    async def _pin(self) -> str | None:
        """The newest stream entry's id (0-0 if none), or None if Redis does not answer."""
        try:
            newest: Any = await self.follower.xrevrange(ALERTS_STREAM, count=1)
        except RedisError:
            return None
        return str(newest[0][0]) if newest else "0-0"

    async def _live(self, fields: dict[str, str]) -> AsyncIterator[str]:
        event_id = int(fields.get("event_id") or 0)
        if event_id <= self.last:
            return  # sent already (a replayed event, or a relay's repeat after a crash)
        if event_id > self.last + 1:
            async for chunk in self._replay(until=event_id - 1):  # a gap: what Redis lost or trimmed
                yield chunk
        self.last = max(self.last, event_id)
        if in_scope(self.scope, fields.get("district", ""), int(fields.get("checkpoint_id") or 0)):
            self.sent_at = time.monotonic()
            yield sse(event_id, fields.get("kind", "new"), fields["alert"])

    async def _replay(self, until: int | None = None) -> AsyncIterator[str]:
        """Events after `last` (up to `until`) in scope, from PostgreSQL (read on a worker thread)."""
        while True:
            try:
                events = await anyio.to_thread.run_sync(self._read, self.last, until)
            except SQLAlchemyError as exc:
                log.warning("watchlist.live_stream_replay_failed", extra={"error": str(exc)[:200]})
                return
            for event_id, kind, body in events:
                self.last = event_id
                self.sent_at = time.monotonic()
                yield sse(event_id, kind, body)
            if len(events) < REPLAY_BATCH:
                return

    def _read(self, after: int, until: int | None) -> list[Replayed]:
        with self.open_session() as session:
            return [(int(event.event_id or 0), event.kind, event.body)
                    for event in events_after(session, self.scope, after, until, REPLAY_BATCH)]

    def _heartbeat(self) -> list[str]:
        if time.monotonic() - self.sent_at >= self.heartbeat_s * 0.9:
            self.sent_at = time.monotonic()
            return [": keep-alive\n\n"]
        return []
