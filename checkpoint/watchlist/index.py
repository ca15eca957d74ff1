"""The Redis watch index every matcher copies: each active entry's spec, and a log of changes.

Layout:
  checkpoint:watch:entries  hash: field = entry id, value = WatchSpec JSON (every active entry)
  checkpoint:watch:changes  stream: one entry per change (v = version, op = add/remove, id, spec)
  checkpoint:watch:version  bumped by every change, in the same script as the change and its log entry
  checkpoint:watch:epoch    a new value at every rebuild, so a matcher never mistakes a rebuilt index
  checkpoint:watch:ready    set once the index holds every active entry of PostgreSQL
Adding or removing an entry runs as one Lua script, so a matcher never sees half a watch. Matchers
keep the entries filed in memory (local_index.py) and, once per batch, read the version: a change
since their copy is applied from the log, anything else (a rebuild, a trimmed log) reloads the hash.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.watchlist.models import WatchEntry, WatchStatus
from checkpoint.watchlist.plates import MatchMode, Pattern, Strictness

log = logging.getLogger(__name__)

ENTRIES_KEY = "checkpoint:watch:entries"
CHANGES_KEY = "checkpoint:watch:changes"
READY_KEY = "checkpoint:watch:ready"
REBUILD_LOCK_KEY = "checkpoint:watch:rebuild-lock"
VERSION_KEY = "checkpoint:watch:version"
EPOCH_KEY = "checkpoint:watch:epoch"
CHANGES_KEPT = 10_000  # a matcher further behind than this reloads the whole hash

# KEYS: entries, version, changes. ARGV: entry id, spec JSON, how many changes to keep.
_ADD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local version = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'v', version, 'op', 'add', 'id', ARGV[1], 'spec', ARGV[2])
return version
"""

# KEYS as for _ADD. ARGV: entry id, how many changes to keep.
_REMOVE = """
redis.call('HDEL', KEYS[1], ARGV[1])
local version = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'v', version, 'op', 'remove', 'id', ARGV[1])
return version
"""


@dataclass(frozen=True)
class WatchSpec:
    """What a matcher needs of an active entry to decide a hit; written beside the index keys."""

    id: int
    mode: str
    pattern: str
    strictness: str
    plate_colour: str | None
    valid_from: str  # ISO-8601 UTC
    valid_to: str
    scope_kind: str = "network"
    districts: list[str] = field(default_factory=list)
    checkpoint_ids: list[int] = field(default_factory=list)
    priority: int = 2
    category: str = ""

    @cached_property
    def parsed(self) -> Pattern:
        return Pattern(MatchMode(self.mode), self.pattern, Strictness(self.strictness))

    @cached_property
    def window(self) -> tuple[datetime, datetime]:
        return datetime.fromisoformat(self.valid_from), datetime.fromisoformat(self.valid_to)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> WatchSpec:
        return cls(**json.loads(text))

    @classmethod
    def of(cls, entry: WatchEntry) -> WatchSpec:
        return cls(id=entry.id, mode=entry.match_mode, pattern=entry.pattern, strictness=entry.strictness,
                   plate_colour=entry.plate_colour, valid_from=entry.valid_from.isoformat(),
                   valid_to=entry.valid_to.isoformat(), scope_kind=entry.scope_kind,
                   districts=list(entry.scope_districts), checkpoint_ids=list(entry.scope_checkpoint_ids),
                   priority=entry.priority, category=entry.category)

    def in_force(self, at: datetime) -> bool:
        start, end = self.window
        return start <= at < end

    def covers(self, checkpoint_id: int, district: str | None) -> bool:
        if self.scope_kind == "districts":
            return district in self.districts
        if self.scope_kind == "checkpoints":
            return checkpoint_id in self.checkpoint_ids
        return True


def add_entry(bus: Redis, spec: WatchSpec) -> None:
    bus.eval(_ADD, 3, ENTRIES_KEY, VERSION_KEY, CHANGES_KEY, str(spec.id), spec.to_json(), str(CHANGES_KEPT))


def remove_entry(bus: Redis, entry_id: int) -> None:
    bus.eval(_REMOVE, 3, ENTRIES_KEY, VERSION_KEY, CHANGES_KEY, str(entry_id), str(CHANGES_KEPT))


def active_entries(session: Session) -> list[WatchEntry]:
    return list(session.scalars(select(WatchEntry).where(WatchEntry.status == WatchStatus.active.value)))


def rebuild(bus: Redis, sessions: sessionmaker[Session], lock_timeout_s: int = 60) -> bool:
    """Refill the index from PostgreSQL unless another process is already at it; True if this one did.

    Written under a temporary name and renamed in one MULTI with a new epoch, so readers see the old
    or the new index, and every matcher reloads. A watch changed while rebuilding bumps the version,
    and the rebuild runs again.
    """
    if not bus.set(REBUILD_LOCK_KEY, "1", nx=True, ex=lock_timeout_s):
        return False
    try:
        while True:
            version = bus.get(VERSION_KEY)
            with sessions() as session:
                entries = {str(entry.id): WatchSpec.of(entry).to_json() for entry in active_entries(session)}
            pipe = bus.pipeline(transaction=True)
            pipe.delete(ENTRIES_KEY + ":new")
            for chunk in _chunks(entries):
                pipe.hset(ENTRIES_KEY + ":new", mapping=chunk)
            pipe.delete(ENTRIES_KEY, CHANGES_KEY)
            if entries:
                pipe.rename(ENTRIES_KEY + ":new", ENTRIES_KEY)
            pipe.set(EPOCH_KEY, uuid.uuid4().hex)
            pipe.set(READY_KEY, str(len(entries)))
            pipe.incr(VERSION_KEY)
            pipe.execute()
            if int(bus.get(VERSION_KEY) or 0) == int(version or 0) + 1:
                return True
    finally:
        bus.delete(REBUILD_LOCK_KEY)


def _chunks(mapping: dict[str, str], size: int = 5_000) -> Iterable[dict[Any, Any]]:
    items = list(mapping.items())
    for start in range(0, len(items), size):
        yield dict(items[start:start + size])


def mirror(bus: Redis, entry: WatchEntry) -> None:
    """Bring the index in line with an entry just committed; if Redis fails, make matchers rebuild."""
    try:
        if entry.status == WatchStatus.active.value:
            add_entry(bus, WatchSpec.of(entry))
        else:
            remove_entry(bus, entry.id)
    except RedisError:
        log.exception("watchlist.index_write_failed", extra={"entry_id": entry.id})
        try:
            bus.delete(READY_KEY)
        except RedisError:
            pass  # a restarted, emptied Redis has no ready flag either: matchers rebuild
