"""The one trim routine: each stream trimmed to what all its consumer groups acknowledged, stale consumers removed.

`trim_streams` trims each declared stream (streams.STREAM_GROUPS) to the oldest entry some group has not
acknowledged: per group its oldest pending entry, or the one after its last delivered. A day at most
(MAX_KEEP_S, the ceiling for a group that stopped for good), so Redis holds consumer lag, not a day of
traffic (docs/REDIS_MEMORY.md). The passes writer runs it every 60 s: the one place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from checkpoint.core.bus import ensure_group
from checkpoint.core.streams import STREAM_GROUPS

log = logging.getLogger(__name__)

STALE_CONSUMER_MS = 3_600_000  # a consumer idle this long with nothing pending is removed from its group
# The safety valve: a group that stopped for good (a worker no longer run, not removed from STREAM_GROUPS)
# would keep its stream growing until Redis ran out of memory and refused every push. Entries older than
# this go even unread, logged as an error (`stream.unread_trimmed`): the old age bound, now only a ceiling.
MAX_KEEP_S = 24 * 3600


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def oldest_needed(bus: Redis, stream: str, groups: Iterable[str] = ()) -> str | None:
    """The oldest entry id some group may still need: per group its oldest pending entry, or the one after its
    last delivered; None when a declared group is missing (it is created: it needs the whole stream)."""
    info: Any = bus.xinfo_groups(stream)
    present = {_text(group["name"]) for group in info}
    missing = [group for group in groups if group not in present]
    for group in missing:
        ensure_group(bus, stream, group)
    if missing or not info:
        return None
    needed: list[tuple[int, int]] = []
    for group in info:
        if int(group["pending"]):
            pending: Any = bus.xpending(stream, _text(group["name"]))
            needed.append(_id_key(_text(pending["min"])))
        else:
            ms, seq = _id_key(_text(group["last-delivered-id"]))
            needed.append((ms, seq + 1))
    ms, seq = min(needed)
    return f"{ms}-{seq}"


def trim_stream(bus: Redis, stream: str, groups: Iterable[str] = (), approximate: bool = True,
                max_keep_s: float = MAX_KEEP_S) -> int:
    """Drop the entries every group has acknowledged (never one a group has not read or not acked, unless older
    than `max_keep_s`); returns how many went. `approximate` lets Redis drop whole nodes only (cheaper; it keeps
    a few more)."""
    if not bus.exists(stream):
        for group in groups:
            ensure_group(bus, stream, group)
        return 0
    minid = oldest_needed(bus, stream, groups)
    if minid is None:
        return 0
    ceiling_ms = int((time.time() - max_keep_s) * 1000)
    if _id_key(minid) < (ceiling_ms, 0):
        log.error("stream.unread_trimmed", extra={"stream": stream, "oldest_needed": minid, "max_keep_s": max_keep_s})
        minid = f"{ceiling_ms}-0"
    return int(bus.xtrim(stream, minid=minid, approximate=approximate))


def remove_stale_consumers(bus: Redis, stream: str, stale_ms: int = STALE_CONSUMER_MS) -> list[str]:
    """Remove consumers idle `stale_ms` with nothing pending (dead processes' names); returns them."""
    removed: list[str] = []
    groups: Any = bus.xinfo_groups(stream)
    for group in groups:
        name = _text(group["name"])
        consumers: Any = bus.xinfo_consumers(stream, name)
        for consumer in consumers:
            if int(consumer["pending"]) == 0 and int(consumer["idle"]) >= stale_ms:
                bus.xgroup_delconsumer(stream, name, _text(consumer["name"]))
                removed.append(f"{name}/{_text(consumer['name'])}")
    return removed


def trim_streams(bus: Redis, approximate: bool = True, stale_ms: int = STALE_CONSUMER_MS) -> dict[str, int]:
    """Every declared stream trimmed to what all its groups acknowledged, and stale consumers removed; returns
    the entries dropped per stream. Run periodically by the passes writer (one place)."""
    dropped: dict[str, int] = {}
    for stream, groups in STREAM_GROUPS.items():
        dropped[stream] = trim_stream(bus, stream, groups, approximate=approximate)
        if bus.exists(stream):
            removed = remove_stale_consumers(bus, stream, stale_ms)
            if removed:
                log.info("stream.consumers_removed", extra={"stream": stream, "consumers": removed})
    return dropped


@dataclass
class PeriodicTrim:
    """Calls trim_streams at most every `every_s` (from a worker's loop); errors are logged, not raised."""

    bus: Redis
    every_s: float = 60.0
    _last: float = 0.0

    def __call__(self) -> None:
        if time.monotonic() - self._last < self.every_s:
            return
        self._last = time.monotonic()
        try:
            dropped = trim_streams(self.bus)
        except RedisError as exc:
            log.warning("stream.trim_failed", extra={"error": str(exc)[:200]})
            return
        if any(dropped.values()):
            log.info("stream.trimmed", extra={"dropped": dropped})
