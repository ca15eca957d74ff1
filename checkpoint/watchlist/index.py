"""The Redis watch index: a cache of PostgreSQL's active entries, at a version of the change log.

Layout:
  checkpoint:watch:entries   hash: field = entry id, value = WatchSpec JSON (every active entry)
  checkpoint:watch:log-version  the change-log version (change_log.py) the hash reflects
  checkpoint:watch:ready     set once the hash was filled from PostgreSQL (a rebuild)
  checkpoint:watch:epoch     a new value at every rebuild (shown on the status page)
  checkpoint:watch:matchers  hash: consumer -> {"version", "at"}, each matcher's report (status page)
PostgreSQL is the truth: the index is trusted only at the version it says, and only up to the
database's. `catch_up` applies the logged changes after its version in order (one Lua script per
chunk: a change applies only on top of the version before it, so two writers never apply one twice
or out of order); an index without the ready flag, or ahead of the database (restored from an old
AOF of another database, say), is rebuilt. Whatever `ready` flag Redis restarted with, its version
decides. Matchers load their copy from the hash and then follow the log in PostgreSQL
(local_index.py), so a stale Redis can delay nothing but a matcher's start.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.faults import fault_point
from checkpoint.watchlist.change_log import WatchChange, changes_since, database_version
from checkpoint.watchlist.change_log import WatchSpec as WatchSpec  # re-exported: matchers import it here
from checkpoint.watchlist.models import WatchEntry, WatchStatus

log = logging.getLogger(__name__)

ENTRIES_KEY = "checkpoint:watch:entries"
READY_KEY = "checkpoint:watch:ready"
REBUILD_LOCK_KEY = "checkpoint:watch:rebuild-lock"
VERSION_KEY = "checkpoint:watch:log-version"  # renamed: an index of an older release has none
EPOCH_KEY = "checkpoint:watch:epoch"
MATCHERS_KEY = "checkpoint:watch:matchers"
REBUILD_LOCK_S = 10  # renewed at every chunk written: a rebuilder killed midway blocks others this long

# KEYS: entries, version, ready. ARGV: (version, entry id, spec JSON or "" to remove) for each change.
# Returns the index's version afterwards, or -1 if there is no ready index to change.
_APPLY = """
local stamped = redis.call('GET', KEYS[2])
if redis.call('EXISTS', KEYS[3]) == 0 or not stamped then return -1 end
local current = tonumber(stamped)
for i = 1, #ARGV, 3 do
  local version = tonumber(ARGV[i])
  if version == current + 1 then
    if ARGV[i + 2] == '' then
      redis.call('HDEL', KEYS[1], ARGV[i + 1])
    else
      redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
    end
    current = version
  elseif version > current + 1 then
    break
  end
end
redis.call('SET', KEYS[2], current)
return current
"""


def apply_changes(bus: Redis, changes: Sequence[WatchChange]) -> int | None:
    """Apply logged changes on top of the index's version; its version afterwards, None if not ready."""
    args: list[str] = []
    for change in changes:
        spec = change.watch_spec()
        args += [str(change.version), str(change.entry_id), spec.to_json() if spec is not None else ""]
    reached = int(bus.eval(_APPLY, 3, ENTRIES_KEY, VERSION_KEY, READY_KEY, *args))
    return None if reached < 0 else reached


def index_version(bus: Redis) -> int | None:
    """The version of a ready index, None if there is none (or one without a version: an older release's)."""
    ready, version = bus.mget(READY_KEY, VERSION_KEY)
    return int(version) if ready and version is not None else None


def catch_up(bus: Redis, session: Session) -> bool:
    """Bring a ready index up to the database's version from the log; False if it needs a rebuild
    (no ready index, or one ahead of the database)."""
    wanted = database_version(session)
    version = index_version(bus)
    if version is None or version > wanted:
        return False
    while version < wanted:
        changes = changes_since(session, version)
        reached = apply_changes(bus, changes) if changes else None
        if reached is None or reached == version:
            return False  # emptied meanwhile, or no progress
        version = reached
    return True


def mirror(bus: Redis, session: Session) -> bool:
    """After a change's commit: bring the index up to the database's version (rebuilt if it has to be);
    True if it is there (the change is in force), False if Redis is unreachable or another process
    is rebuilding it (which then includes the change)."""
    try:
        return catch_up(bus, session) or rebuild_from(bus, session)
    except RedisError as exc:
        log.warning("watchlist.index_write_failed", extra={"error": str(exc)[:200]})
        return False


def active_entries(session: Session) -> list[WatchEntry]:
    return list(session.scalars(select(WatchEntry).where(WatchEntry.status == WatchStatus.active.value)))


def rebuild(bus: Redis, sessions: sessionmaker[Session]) -> bool:
    """Refill the index from PostgreSQL unless another process is already at it; True if this one did."""
    with sessions() as session:
        return rebuild_from(bus, session)


def rebuild_from(bus: Redis, session: Session) -> bool:
    """`rebuild`, reading PostgreSQL in the caller's session.

    The version is read before the entries, so the entries are at least that recent; the changes
    logged meanwhile are applied on top (applying a change twice leaves the same index). Written
    under a temporary name and renamed in one MULTI with the version and the ready flag, so a
    rebuilder killed midway leaves the old index as it was (fault point `index.mid_rebuild`).
    """
    if not bus.set(REBUILD_LOCK_KEY, "1", nx=True, ex=REBUILD_LOCK_S):
        return False
    scratch = ENTRIES_KEY + ":new"
    try:
        version = database_version(session)
        entries = [(str(entry.id), WatchSpec.of(entry).to_json()) for entry in active_entries(session)]
        bus.delete(scratch)
        half = len(entries) // 2
        for part, (start, end) in enumerate(((0, half), (half, len(entries)))):
            if part == 1:
                fault_point("index.mid_rebuild")
            for chunk in _chunks(entries[start:end]):
                bus.hset(scratch, mapping=chunk)
                bus.expire(REBUILD_LOCK_KEY, REBUILD_LOCK_S)
        pipe = bus.pipeline(transaction=True)
        pipe.delete(ENTRIES_KEY)
        if entries:
            pipe.rename(scratch, ENTRIES_KEY)
        pipe.set(VERSION_KEY, str(version))
        pipe.set(EPOCH_KEY, uuid.uuid4().hex)
        pipe.set(READY_KEY, str(len(entries)))
        pipe.execute()
        catch_up(bus, session)
        log.info("watchlist.index_rebuilt", extra={"version": version, "entries": len(entries)})
        return True
    finally:
        bus.delete(REBUILD_LOCK_KEY)


def _chunks(items: list[tuple[str, str]], size: int = 5_000) -> Iterable[dict[Any, Any]]:
    for start in range(0, len(items), size):
        yield dict(items[start:start + size])
