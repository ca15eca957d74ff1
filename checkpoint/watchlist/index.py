"""The Redis watch index every matcher reads: index key -> entry ids, and each active entry's spec.

Layout (one hash each, so a batch of reads is one HMGET):
  checkpoint:watch:index    field = index key (`e:`, `f:`, `d:`, `w:`; see plates.py), value = "id,id"
  checkpoint:watch:entries  field = entry id, value = WatchSpec JSON
  checkpoint:watch:masks    field = wildcard mask in use (plates.Mask), value = how many entries use it
  checkpoint:watch:version  bumped by every change, so matchers know to re-read the masks
  checkpoint:watch:ready    set once the index holds every active entry of PostgreSQL
Adding or removing an entry runs as one Lua script, so a matcher never sees half a watch.
"""

from __future__ import annotations

import json
import logging
import threading
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
from checkpoint.watchlist.plates import MatchMode, Pattern, Strictness, wildcard_mask

log = logging.getLogger(__name__)

INDEX_KEY = "checkpoint:watch:index"
ENTRIES_KEY = "checkpoint:watch:entries"
READY_KEY = "checkpoint:watch:ready"
REBUILD_LOCK_KEY = "checkpoint:watch:rebuild-lock"
VERSION_KEY = "checkpoint:watch:version"
MASKS_KEY = "checkpoint:watch:masks"

# KEYS: index, entries, version, masks. ARGV: entry id, spec JSON, mask ("" if none), index keys...
_ADD = """
if redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) == 1 and ARGV[3] ~= '' then
  redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
end
for i = 4, #ARGV do
  local ids = redis.call('HGET', KEYS[1], ARGV[i])
  if not ids then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
  elseif not string.find(',' .. ids .. ',', ',' .. ARGV[1] .. ',', 1, true) then
    redis.call('HSET', KEYS[1], ARGV[i], ids .. ',' .. ARGV[1])
  end
end
return redis.call('INCR', KEYS[3])
"""

# KEYS as for _ADD. ARGV: entry id, mask ("" if none), index keys...
_REMOVE = """
if redis.call('HDEL', KEYS[2], ARGV[1]) == 1 and ARGV[2] ~= '' then
  if redis.call('HINCRBY', KEYS[4], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[4], ARGV[2]) end
end
for i = 3, #ARGV do
  local ids = redis.call('HGET', KEYS[1], ARGV[i])
  if ids then
    local kept = {}
    for id in string.gmatch(ids, '[^,]+') do
      if id ~= ARGV[1] then table.insert(kept, id) end
    end
    if #kept == 0 then redis.call('HDEL', KEYS[1], ARGV[i])
    else redis.call('HSET', KEYS[1], ARGV[i], table.concat(kept, ',')) end
  end
end
return redis.call('INCR', KEYS[3])
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


def mask_of(pattern: Pattern) -> str:
    return wildcard_mask(pattern.text)[0] if pattern.mode is MatchMode.wildcard else ""


def add_entry(bus: Redis, spec: WatchSpec) -> None:
    pattern = spec.parsed
    bus.eval(_ADD, 4, INDEX_KEY, ENTRIES_KEY, VERSION_KEY, MASKS_KEY, str(spec.id), spec.to_json(),
             mask_of(pattern), *pattern.index_keys())


def remove_entry(bus: Redis, entry_id: int, pattern: Pattern) -> None:
    bus.eval(_REMOVE, 4, INDEX_KEY, ENTRIES_KEY, VERSION_KEY, MASKS_KEY, str(entry_id), mask_of(pattern),
             *pattern.index_keys())


def active_entries(session: Session) -> list[WatchEntry]:
    return list(session.scalars(select(WatchEntry).where(WatchEntry.status == WatchStatus.active.value)))


def build_fields(specs: Iterable[WatchSpec]) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    """(index hash, entries hash, masks hash) for a set of specs, as a rebuild writes them."""
    index: dict[str, list[str]] = {}
    entries: dict[str, str] = {}
    masks: dict[str, int] = {}
    for spec in specs:
        entries[str(spec.id)] = spec.to_json()
        pattern = spec.parsed
        for key in pattern.index_keys():
            index.setdefault(key, []).append(str(spec.id))
        if mask := mask_of(pattern):
            masks[mask] = masks.get(mask, 0) + 1
    return {key: ",".join(ids) for key, ids in index.items()}, entries, masks


def rebuild(bus: Redis, sessions: sessionmaker[Session], lock_timeout_s: int = 60) -> bool:
    """Refill the index from PostgreSQL unless another process is already at it; True if this one did.

    Written under temporary names and renamed in one MULTI, so readers see the old or the new index.
    A watch changed while rebuilding bumps the version, and the rebuild runs again.
    """
    if not bus.set(REBUILD_LOCK_KEY, "1", nx=True, ex=lock_timeout_s):
        return False
    try:
        while True:
            version = bus.get(VERSION_KEY)
            with sessions() as session:
                specs = [WatchSpec.of(entry) for entry in active_entries(session)]
            index, entries, masks = build_fields(specs)
            pipe = bus.pipeline(transaction=True)
            pipe.delete(INDEX_KEY + ":new", ENTRIES_KEY + ":new")
            for chunk in _chunks(index):
                pipe.hset(INDEX_KEY + ":new", mapping=chunk)
            for chunk in _chunks(entries):
                pipe.hset(ENTRIES_KEY + ":new", mapping=chunk)
            pipe.delete(INDEX_KEY, ENTRIES_KEY, MASKS_KEY)
            if index:
                pipe.rename(INDEX_KEY + ":new", INDEX_KEY)
            if entries:
                pipe.rename(ENTRIES_KEY + ":new", ENTRIES_KEY)
            if masks:
                pipe.hset(MASKS_KEY, mapping=dict[Any, Any](masks))
            pipe.set(READY_KEY, str(len(specs)))
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


class SpecCache:
    """A matcher's copy of entry specs, fetched on first sight; specs of active entries never change."""

    def __init__(self) -> None:
        self._specs: dict[int, WatchSpec] = {}
        self._lock = threading.Lock()

    def get_many(self, bus: Redis, ids: set[int]) -> dict[int, WatchSpec]:
        missing = [entry_id for entry_id in ids if entry_id not in self._specs]
        if missing:
            raw: Any = bus.hmget(ENTRIES_KEY, [str(entry_id) for entry_id in missing])
            with self._lock:
                for entry_id, text in zip(missing, raw, strict=True):
                    if text:
                        self._specs[entry_id] = WatchSpec.from_json(text)
        return {entry_id: self._specs[entry_id] for entry_id in ids if entry_id in self._specs}


def mirror(bus: Redis, entry: WatchEntry) -> None:
    """Bring the index in line with an entry just committed; if Redis fails, make matchers rebuild."""
    try:
        if entry.status == WatchStatus.active.value:
            add_entry(bus, WatchSpec.of(entry))
        else:
            remove_entry(bus, entry.id, Pattern(MatchMode(entry.match_mode), entry.pattern,
                                                Strictness(entry.strictness)))
    except RedisError:
        log.exception("watchlist.index_write_failed", extra={"entry_id": entry.id})
        try:
            bus.delete(READY_KEY)
        except RedisError:
            pass  # a restarted, emptied Redis has no ready flag either: matchers rebuild
