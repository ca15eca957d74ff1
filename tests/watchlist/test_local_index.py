"""A matcher's copy of the index follows the change log in PostgreSQL; the Redis index is a cache of it."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.watchlist import index
from checkpoint.watchlist.change_log import WatchChange, changes_since, database_version, record_change
from checkpoint.watchlist.index import ENTRIES_KEY, EPOCH_KEY, VERSION_KEY
from checkpoint.watchlist.local_index import IndexCopy
from checkpoint.watchlist.models import WatchEntry
from tests.watchlist.conftest import random_plate

Watch = Callable[..., WatchEntry]


def withdraw(sessions: sessionmaker[Session], entry: WatchEntry) -> None:
    """Withdrawn and committed, the Redis index left as it was (as if Redis were down)."""
    with sessions() as db:
        found = db.get_one(WatchEntry, entry.id)
        found.status = "withdrawn"
        record_change(db, found, "withdraw")
        db.commit()


def test_changes_are_applied_from_the_log_without_a_reload(bus: Redis, sessions: sessionmaker[Session],
                                                           committed_watch: Watch) -> None:
    first, second = random_plate(), random_plate()
    gone = committed_watch(first)
    copy = IndexCopy()
    copy.load(bus)
    added = committed_watch(second)
    wildcard = committed_watch("粤L?" + second[3:], "wildcard")
    withdraw(sessions, gone)
    with sessions() as db:
        copy.catch_up(db, database_version(db))
        assert copy.version == database_version(db)
    assert copy.reloads == 1  # only the first load
    assert copy.lookup(first) == set() and copy.lookup(second) == {added.id, wildcard.id}


def test_every_change_is_logged_with_the_next_version(sessions: sessionmaker[Session],
                                                      committed_watch: Watch) -> None:
    with sessions() as db:
        before = database_version(db)
    entry = committed_watch(random_plate())
    withdraw(sessions, entry)
    with sessions() as db:
        log = [(change.version, change.entry_id, change.op) for change in changes_since(db, before)
               if change.entry_id == entry.id]
        assert [op for _v, _id, op in log] == ["add", "remove"]
        assert log[1][0] > log[0][0] and database_version(db) >= log[1][0]
        spec = db.get_one(WatchChange, log[0][0]).watch_spec()
        assert spec is not None and spec.pattern == entry.pattern


def test_a_redis_index_behind_is_caught_up_and_one_ahead_is_rebuilt(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch) -> None:
    kept, gone = committed_watch(random_plate()), committed_watch(random_plate())
    withdraw(sessions, gone)  # Redis not told
    assert gone.id and bus.hget(ENTRIES_KEY, str(gone.id)) is not None
    with sessions() as db:
        assert index.catch_up(bus, db)
        assert bus.get(VERSION_KEY) == str(database_version(db))
    assert bus.hget(ENTRIES_KEY, str(gone.id)) is None and bus.hget(ENTRIES_KEY, str(kept.id)) is not None

    epoch = bus.get(EPOCH_KEY)
    bus.set(VERSION_KEY, "999999999")  # an index the database never had (an AOF of another database)
    bus.hset(ENTRIES_KEY, "424242", "{}")
    with sessions() as db:
        assert not index.catch_up(bus, db)
    assert index.rebuild(bus, sessions)
    assert bus.get(EPOCH_KEY) != epoch and bus.hget(ENTRIES_KEY, "424242") is None
    with sessions() as db:
        assert bus.get(VERSION_KEY) == str(database_version(db))


def test_an_edit_is_logged_and_applied_to_the_copy(bus: Redis, sessions: sessionmaker[Session],
                                                    committed_watch: Watch) -> None:
    committed_watch(random_plate())
    copy = IndexCopy()
    copy.load(bus)
    entry = committed_watch(random_plate())
    with sessions() as db:  # an edit is a change like any other
        db.execute(update(WatchEntry).where(WatchEntry.id == entry.id).values(priority=1))
        record_change(db, db.get_one(WatchEntry, entry.id), "edit")
        db.commit()
        copy.catch_up(db, database_version(db))
    assert copy.specs[entry.id].priority == 1
