"""Feed health in Redis: the hash `checkpoint:feed:{id}` the console reads, and state changes on a stream.

The hash holds the latest state; `checkpoint:feed_events` keeps every online/offline change with
its time and error, so online rate (在线率) over any window can be computed from it later.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis

from checkpoint.sites.feed_keys import FEED_EVENTS_STREAM, feed_key

WRITE_EVERY_S = 1.0
__all__ = ["FEED_EVENTS_STREAM", "FeedHealth", "FeedStatusWriter", "feed_key", "read_feed_status"]


@dataclass
class FeedHealth:
    """What one feed worker knows about its feed right now."""

    state: str = "starting"  # starting | online | offline | ended
    fps: float = 0.0
    last_frame_at: datetime | None = None
    last_pass_at: datetime | None = None
    last_error: str = ""
    dropped: int = 0  # frames lost (a full queue, or skipped by the decoder to keep up)
    skipped: int = 0  # of those, frames not even decoded: the machine was behind the live source
    lag_s: float = 0.0  # how late the decoder is against the live source
    processed: int = 0
    passes: int = 0
    reconnects: int = 0
    offline_since: datetime | None = None

    def to_fields(self) -> dict[str, str]:
        def when(value: datetime | None) -> str:
            return value.isoformat() if value else ""

        return {"state": self.state, "fps": f"{self.fps:.1f}", "last_frame_at": when(self.last_frame_at),
                "last_pass_at": when(self.last_pass_at), "last_error": self.last_error[:300],
                "dropped": str(self.dropped), "skipped": str(self.skipped),
                "lag_s": f"{self.lag_s:.2f}", "processed": str(self.processed), "passes": str(self.passes),
                "reconnects": str(self.reconnects), "offline_since": when(self.offline_since),
                "updated_at": datetime.now(UTC).isoformat()}


class FeedStatusWriter:
    """Writes a feed's health at most once a second, and at once on a state change."""

    def __init__(self, bus: Redis, feed_id: int) -> None:
        self.bus = bus
        self.feed_id = feed_id
        self.health = FeedHealth()
        self.changes: list[tuple[str, datetime]] = []  # this worker's state changes, newest last
        self._written_monotonic = 0.0

    def set_state(self, state: str, error: str = "") -> None:
        if state == self.health.state and not error:
            return
        changed = state != self.health.state
        self.health.state = state
        if error:
            self.health.last_error = error
        now = datetime.now(UTC)
        if state == "offline" and changed:
            self.health.offline_since = now
        elif state == "online":
            self.health.offline_since = None
        if changed:
            self.changes = [*self.changes[-99:], (state, now)]
            self.bus.xadd(FEED_EVENTS_STREAM, {"feed_id": str(self.feed_id), "state": state,
                                               "at": now.isoformat(), "error": error[:300]})
        self.write(force=True)

    def write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written_monotonic < WRITE_EVERY_S:
            return
        self._written_monotonic = now
        self.bus.hset(feed_key(self.feed_id), mapping=self.health.to_fields())  # type: ignore[arg-type]  # stubs


def read_feed_status(bus: Redis, feed_id: int) -> dict[str, str]:
    """The feed's hash as stored (empty when the feed never ran)."""
    raw: dict[str, str] = bus.hgetall(feed_key(feed_id))  # type: ignore[assignment]  # decode_responses client
    return raw
