"""A matcher's in-memory copy of the watch index, kept at the change log's version at every batch.

Looking a read up costs a few dict lookups here instead of ~35 Redis keys per pass: exact,
confusion-normalised and deletion keys in one dict, and one table per wildcard mask in use, keyed by
the read's characters at the mask's known positions. The copy is loaded once from the Redis hash
(in one MULTI with the version it belongs to) and then follows the change log in PostgreSQL
(change_log.py): before each batch the matcher reads the database's version and applies the changes
since its copy's, in version order, so it never matches on an index older than the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import compress
from operator import itemgetter
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session

from checkpoint.watchlist.change_log import WatchSpec, changes_since
from checkpoint.watchlist.index import ENTRIES_KEY, READY_KEY, VERSION_KEY
from checkpoint.watchlist.plates import Mask, MatchMode, canonical, deletions, wildcard_mask

KnownChars = Callable[[str], Any]  # itemgetter over a mask's positions: a tuple of characters


class LocalIndex:
    """Active entries filed by the keys a read plate is looked up under."""

    def __init__(self, specs: Iterable[WatchSpec] = ()) -> None:
        self.specs: dict[int, WatchSpec] = {}
        self._keys: dict[str, set[int]] = {}  # e:/f:/d: keys of Pattern.index_keys()
        self._masks: dict[str, tuple[Mask, dict[tuple[str, ...], set[int]]]] = {}
        self._by_length: dict[int, list[tuple[KnownChars, dict[tuple[str, ...], set[int]]]]] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: WatchSpec) -> None:
        self.remove(spec.id)
        self.specs[spec.id] = spec
        pattern = spec.parsed
        if pattern.mode is MatchMode.wildcard:
            name, known = wildcard_mask(pattern.text)
            if name not in self._masks:
                self._masks[name] = (Mask.parse(name), {})
                self._by_length.clear()
            self._masks[name][1].setdefault(tuple(known), set()).add(spec.id)
            return
        for key in pattern.index_keys():
            self._keys.setdefault(key, set()).add(spec.id)

    def remove(self, entry_id: int) -> None:
        spec = self.specs.pop(entry_id, None)
        if spec is None:
            return
        pattern = spec.parsed
        if pattern.mode is MatchMode.wildcard:
            name, known = wildcard_mask(pattern.text)
            table = self._masks[name][1]
            _discard(table, tuple(known), entry_id)
            if not table:
                del self._masks[name]
                self._by_length.clear()
            return
        for key in pattern.index_keys():
            _discard(self._keys, key, entry_id)

    def lookup(self, plate: str) -> set[int]:
        """Ids of the entries a read may match (verified by the caller against the pattern itself)."""
        return self.lookup_many([plate]).get(0, set())

    def lookup_many(self, plates: list[str]) -> dict[int, set[int]]:
        """Candidates of a batch of reads, by position in `plates`; reads without any are left out.

        Mirrors Pattern.index_keys(): the read's canonical form meets fuzzy watches; a read missing a
        character meets a watch's deletions (`d:`), one with an extra character its own deletions.
        Each probe runs over the whole batch as map(dict.get, ...) and compress(), so the per-read
        loop (~20 probes, most of them wildcard masks) runs in C rather than in Python bytecode.
        """
        found: dict[int, set[int]] = {}
        keys = self._keys
        canon = [canonical(plate) for plate in plates]
        probes: list[tuple[list[int], list[str]]] = [
            (list(range(len(plates))), ["e:" + plate for plate in plates]),
            (list(range(len(plates))), ["f:" + key for key in canon])]
        short = [index for index, plate in enumerate(plates) if len(plate) <= 7]
        probes.append((short, ["d:" + canon[index] for index in short]))
        for index, plate in enumerate(plates):
            if len(plate) >= 8:
                deleted = ["f:" + key for key in deletions(canon[index])]
                probes.append(([index] * len(deleted), deleted))
        for where, probe in probes:
            for at in compress(range(len(probe)), map(keys.get, probe)):
                found.setdefault(where[at], set()).update(keys[probe[at]])
        by_length: dict[int, list[int]] = {}
        for index, plate in enumerate(plates):
            by_length.setdefault(len(plate), []).append(index)
        for size, where in by_length.items():
            same = [plates[index] for index in where]
            for known, table in self._tables_for(size):
                for at in compress(range(len(same)), map(table.get, map(known, same))):
                    found.setdefault(where[at], set()).update(table[known(same[at])])
        return found

    def _tables_for(self, size: int) -> list[tuple[KnownChars, dict[tuple[str, ...], set[int]]]]:
        tables = self._by_length.get(size)
        if tables is None:
            tables = self._by_length[size] = [
                (itemgetter(*mask.positions), table) for mask, table in self._masks.values() if mask.applies_to(size)]
        return tables


def _discard(mapping: dict[Any, set[int]], key: Any, entry_id: int) -> None:
    ids = mapping.get(key)
    if ids is not None:
        ids.discard(entry_id)
        if not ids:
            del mapping[key]


class IndexCopy(LocalIndex):
    """A LocalIndex that knows which version of the change log it holds, and follows the log."""

    def __init__(self) -> None:
        super().__init__()
        self.version: int | None = None  # None: never loaded
        self.reloads = 0

    def catch_up(self, session: Session, wanted: int) -> None:
        """Apply the logged changes up to `wanted` (read from PostgreSQL, in version order)."""
        assert self.version is not None, "load the copy first"
        while self.version < wanted:
            changes = changes_since(session, self.version)
            if not changes or changes[0].version != self.version + 1:
                raise RuntimeError(f"the change log has no version {self.version + 1}")  # never trimmed
            for change in changes:
                spec = change.watch_spec()
                if spec is not None:
                    self.add(spec)
                else:
                    self.remove(change.entry_id)
                self.version = change.version

    def load(self, bus: Redis) -> None:
        """Every entry of the Redis hash, with the version it belongs to (one MULTI); the caller catches
        up from the log. Refuses an index that is not ready (half written, or emptied)."""
        pipe = bus.pipeline(transaction=True)
        pipe.mget(READY_KEY, VERSION_KEY)
        pipe.hgetall(ENTRIES_KEY)
        (ready, version), entries = pipe.execute()
        if not ready:
            raise RuntimeError("the Redis watch index is not ready")
        LocalIndex.__init__(self, (WatchSpec.from_json(text) for text in entries.values()))
        self.version = int(version or 0)
        self.reloads += 1
