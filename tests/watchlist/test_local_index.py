"""A matcher's copy of the index follows Redis: changes from the log, a reload after a rebuild or a gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.watchlist import index
from checkpoint.watchlist.index import CHANGES_KEY, EPOCH_KEY, READY_KEY, VERSION_KEY, WatchSpec
from checkpoint.watchlist.local_index import IndexCopy
from tests.watchlist.conftest import random_plate


def spec(entry_id: int, pattern: str, mode: str = "exact") -> WatchSpec:
    now = datetime.now(UTC)
    return WatchSpec(id=entry_id, mode=mode, pattern=pattern, strictness="normal", plate_colour=None,
                     valid_from=(now - timedelta(hours=1)).isoformat(), valid_to=(now + timedelta(hours=1)).isoformat())


def catch_up(copy: IndexCopy, bus: Redis) -> None:
    state: Any = bus.mget(VERSION_KEY, EPOCH_KEY)
    if not copy.current(*state):
        copy.catch_up(bus, *state)


def test_changes_are_applied_from_the_log_without_a_reload(bus: Redis) -> None:
    first, second = random_plate(), random_plate()
    index.add_entry(bus, spec(9_000_001, first))
    copy = IndexCopy()
    copy.load(bus)
    index.add_entry(bus, spec(9_000_002, second))
    index.add_entry(bus, spec(9_000_003, "粤L?" + second[3:], "wildcard"))
    index.remove_entry(bus, 9_000_001)
    catch_up(copy, bus)
    assert copy.reloads == 1  # only the first load
    assert copy.lookup(first) == set() and copy.lookup(second) == {9_000_002, 9_000_003}
    assert copy.version == int(str(bus.get(VERSION_KEY)))


def test_a_rebuild_or_a_gap_in_the_log_reloads_everything(bus: Redis, sessions: sessionmaker[Session]) -> None:
    plate = random_plate()
    copy = IndexCopy()
    index.add_entry(bus, spec(9_000_004, plate))
    copy.load(bus)
    index.add_entry(bus, spec(9_000_005, random_plate()))
    bus.delete(CHANGES_KEY)  # the log trimmed past this copy: that change is no longer in it
    index.add_entry(bus, spec(9_000_006, random_plate()))
    catch_up(copy, bus)
    assert copy.reloads == 2 and {9_000_005, 9_000_006} <= set(copy.specs)

    bus.delete(READY_KEY)
    assert index.rebuild(bus, sessions)  # from PostgreSQL, where the two test specs never were
    catch_up(copy, bus)
    assert copy.reloads == 3 and copy.lookup(plate) == set() and copy.epoch == bus.get(EPOCH_KEY)
