"""A watch change is a durable fact before it is in force: approvals and withdrawals during a Redis
outage, a Redis back from its AOF with a stale ready flag, a matcher behind the database, a rebuild
killed midway. Real servers: the run's PostgreSQL and, where Redis must die, a redis-server of the
test's own (RedisServer, kill -9 and restart on its append-only file)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import users
from checkpoint.core.bus import PASSES_STREAM, get_bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import get_session
from checkpoint.core.faults import FaultInjected, arm, disarm_all
from checkpoint.core.models import User
from checkpoint.core.redis_process import RedisServer
from checkpoint.core.settings_groups import WatchlistSettings
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import index, service
from checkpoint.watchlist.change_log import database_version
from checkpoint.watchlist.index import ENTRIES_KEY, EPOCH_KEY, READY_KEY, VERSION_KEY
from checkpoint.watchlist.models import HitAlert, WatchEntry, WatchHit
from checkpoint.watchlist.worker import GROUP, VERSION_CHECK_S, Matcher
from tests.conftest import PASSWORD
from tests.waiting import wait_until
from tests.watchlist.conftest import drain, headers_for, new_matcher, pass_event, push_pass, random_plate

WATCHES = "/api/v1/watchlist/watches"
Watch = Callable[..., WatchEntry]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, fsyncing every write to its AOF (what survives a kill is exact)."""
    server = RedisServer(tmp_path / "redis")
    server.wait_up()
    client = Redis.from_url(server.url)
    client.config_set("appendfsync", "always")
    client.close()
    yield server
    server.stop()


@pytest.fixture
def own_bus(own_redis: RedisServer) -> Iterator[Redis]:
    client = own_redis.client()
    yield client
    client.close()


@pytest.fixture
def api(sessions: sessionmaker[Session], own_bus: Redis, test_settings: Settings) -> Iterator[TestClient]:
    """The API on the test's own Redis, with sessions that really commit (matchers see what it writes)."""
    from checkpoint.main import create_app

    def real_session() -> Iterator[Session]:
        with sessions() as db:
            yield db

    app = create_app()
    app.dependency_overrides[get_session] = real_session
    app.dependency_overrides[get_settings] = lambda: test_settings
    app.dependency_overrides[get_bus] = lambda: own_bus
    with TestClient(app) as client:
        yield client


@pytest.fixture
def officers(sessions: sessionmaker[Session]) -> tuple[User, User]:
    """(officer, supervisor), committed."""
    with sessions() as db:
        officer = users.create(db, username=f"o{secrets.token_hex(4)}", password=PASSWORD, roles=["officer"])
        supervisor = users.create(db, username=f"s{secrets.token_hex(4)}", password=PASSWORD,
                                  roles=["officer", "approver"])
        db.commit()
        return officer, supervisor


@pytest.fixture
def checkpoint(sessions: sessionmaker[Session]) -> Checkpoint:
    with sessions() as db:
        found = db.scalars(select(Checkpoint).order_by(Checkpoint.id).limit(1)).one()
        db.expunge(found)
        return found


@pytest.fixture
def running_matcher(own_bus: Redis, sessions: sessionmaker[Session],
                    test_settings: Settings) -> Iterator[Matcher]:
    """A matcher thread on the test's Redis, as `checkpoint watchlist matcher` runs it."""
    matcher = Matcher(own_bus, sessions, f"changes-{secrets.token_hex(3)}", WatchlistSettings(),
                      data_dir=test_settings.data_dir)
    stop = threading.Event()
    thread = threading.Thread(target=matcher.run, args=(stop,), daemon=True)
    thread.start()
    yield matcher
    stop.set()
    thread.join(timeout=10)


def register(api: TestClient, officer: User, plate: str) -> int:
    body = {"pattern": plate, "category": "stolen", "reason": "change-log test"}
    created = api.post(WATCHES, json=body, headers=headers_for(officer))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def decide(api: TestClient, supervisor: User, entry_id: int, step: str) -> dict[str, Any]:
    response = api.post(f"{WATCHES}/{entry_id}/{step}", json={"reason": "change-log test"},
                        headers=headers_for(supervisor))
    assert response.status_code == 200, response.text
    return dict(response.json())


def hits(sessions: sessionmaker[Session], entry_id: int) -> tuple[int, int]:
    """(passes matched to the watch, the sum of its alerts' hit counts)."""
    with sessions() as db:
        matched = db.scalar(select(func.count()).select_from(WatchHit).where(WatchHit.entry_id == entry_id))
        counted = db.scalar(select(func.coalesce(func.sum(HitAlert.hit_count), 0)).where(HitAlert.entry_id == entry_id))
        return int(matched or 0), int(counted or 0)


def handled(bus: Redis, msg_id: str) -> bool:
    """The pass was delivered to the group and acked (matched, or found to match nothing)."""
    try:
        group = next(g for g in bus.xinfo_groups(PASSES_STREAM) if g["name"] == GROUP)
    except Exception:  # noqa: BLE001 (Redis restarting, or the group not yet created)
        return False
    last = tuple(map(int, str(group["last-delivered-id"]).split("-")))
    return last >= tuple(map(int, msg_id.split("-"))) and int(group["pending"]) == 0


def push_when_up(bus: Redis, plate: str, checkpoint: Checkpoint) -> str:
    return str(wait_until(lambda: _try_push(bus, plate, checkpoint), timeout_s=10, what="Redis taking a pass"))


def _try_push(bus: Redis, plate: str, checkpoint: Checkpoint) -> str | None:
    try:
        return push_pass(bus, pass_event(plate, checkpoint))
    except Exception:  # noqa: BLE001 (a connection reset while Redis comes back)
        return None


def test_watch_approved_while_redis_is_down_is_enforced_once_redis_returns(
        api: TestClient, own_redis: RedisServer, own_bus: Redis, sessions: sessionmaker[Session],
        officers: tuple[User, User], checkpoint: Checkpoint, running_matcher: Matcher) -> None:
    officer, supervisor = officers
    first = push_when_up(own_bus, random_plate("粤A"), checkpoint)
    wait_until(lambda: handled(own_bus, first), timeout_s=20, what="the matcher running")
    plate = random_plate()
    entry_id = register(api, officer, plate)

    own_redis.kill()
    approved = decide(api, supervisor, entry_id, "approve")
    assert approved["status"] == "active" and approved["in_force"] is False  # committed, not yet in force
    assert "Redis 不可达" in approved["notice"]
    status = api.get("/api/v1/watchlist/index-status", headers=headers_for(officer)).json()
    assert status["redis_reachable"] is False and status["in_force"] is False

    own_redis.start()
    own_redis.wait_up()
    back_at = time.monotonic()
    push_when_up(own_bus, plate, checkpoint)
    wait_until(lambda: hits(sessions, entry_id)[0] == 1, timeout_s=10, what="the approved watch matched")
    in_force_after_s = time.monotonic() - back_at
    assert in_force_after_s <= 1.0, f"in force {in_force_after_s:.2f} s after Redis came back"
    with sessions() as db:
        wanted = database_version(db)
    assert own_bus.get(VERSION_KEY) == str(wanted) and entry_id in running_matcher.index.specs
    status = api.get("/api/v1/watchlist/index-status", headers=headers_for(officer)).json()
    assert status["in_force"] is True and status["redis_version"] == wanted
    assert running_matcher.consumer in {report["consumer"] for report in status["matchers"]}


def test_watch_withdrawn_while_redis_is_down_stops_matching_once_redis_returns(
        api: TestClient, own_redis: RedisServer, own_bus: Redis, sessions: sessionmaker[Session],
        officers: tuple[User, User], checkpoint: Checkpoint, running_matcher: Matcher) -> None:
    officer, supervisor = officers
    plate = random_plate()
    entry_id = register(api, officer, plate)
    assert decide(api, supervisor, entry_id, "approve")["in_force"] is True
    push_when_up(own_bus, plate, checkpoint)
    wait_until(lambda: hits(sessions, entry_id) == (1, 1), timeout_s=20, what="the first hit")

    own_redis.kill()
    decide(api, officer, entry_id, "withdraw-request")
    withdrawn = decide(api, supervisor, entry_id, "withdraw")
    assert withdrawn["status"] == "withdrawn" and withdrawn["in_force"] is False
    own_redis.start()  # back from its AOF: the index holds the watch, ready flag and all
    own_redis.wait_up()
    back_at = time.monotonic()
    later = push_when_up(own_bus, plate, checkpoint)  # within the grouping window: a match would make it 2
    wait_until(lambda: handled(own_bus, later), timeout_s=10, what="the pass after the withdrawal handled")
    assert time.monotonic() - back_at <= 1.0
    assert hits(sessions, entry_id) == (1, 1)  # no hit after the withdrawal
    assert own_bus.hget(ENTRIES_KEY, str(entry_id)) is None
    again = push_when_up(own_bus, plate, checkpoint)
    wait_until(lambda: handled(own_bus, again), timeout_s=10, what="one more pass handled")
    assert hits(sessions, entry_id) == (1, 1)


def test_redis_restarted_with_a_stale_ready_flag_is_rebuilt_from_postgresql(
        api: TestClient, own_redis: RedisServer, own_bus: Redis, sessions: sessionmaker[Session],
        officers: tuple[User, User]) -> None:
    officer, supervisor = officers
    kept, gone = register(api, officer, random_plate()), register(api, officer, random_plate())
    decide(api, supervisor, gone, "approve")
    stale_version = own_bus.get(VERSION_KEY)
    assert own_bus.hget(ENTRIES_KEY, str(gone)) is not None

    own_redis.kill()
    decide(api, supervisor, kept, "approve")  # both answered 200 while Redis is down
    decide(api, officer, gone, "withdraw-request")
    decide(api, supervisor, gone, "withdraw")
    own_redis.start()
    own_redis.wait_up()
    bus = own_redis.client()
    assert bus.get(READY_KEY) and bus.get(VERSION_KEY) == stale_version  # the AOF's stale, "ready" index
    assert bus.hget(ENTRIES_KEY, str(gone)) is not None and bus.hget(ENTRIES_KEY, str(kept)) is None

    matcher = new_matcher(bus, sessions)  # any matcher, at start or at its next batch
    with sessions() as db:
        wanted = database_version(db)
        active = {str(entry.id) for entry in index.active_entries(db)}
    assert bus.get(VERSION_KEY) == str(wanted) and set(bus.hkeys(ENTRIES_KEY)) == active
    assert str(kept) in active and str(gone) not in active

    epoch = bus.get(EPOCH_KEY)
    bus.set(VERSION_KEY, str(wanted + 1_000))  # an AOF from elsewhere: ahead of this database
    bus.hset(ENTRIES_KEY, "987654321", "{}")
    matcher.sync()  # what it does before its next batch
    assert bus.get(EPOCH_KEY) != epoch  # rebuilt
    assert bus.get(VERSION_KEY) == str(wanted) and set(bus.hkeys(ENTRIES_KEY)) == active
    bus.close()


def version_due(matcher: Matcher) -> None:
    """Wait out VERSION_CHECK_S (0.1 s) since the matcher last read the database's version: a change
    committed that long before a batch is matched must be applied to it."""
    wait_until(lambda: time.monotonic() - matcher.version_checked_at >= VERSION_CHECK_S, timeout_s=1,
               what="the matcher's next check of the database's version")


def test_matcher_never_matches_on_an_index_older_than_the_database(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch, checkpoint: Checkpoint,
        engine: Engine) -> None:
    withdrawn_plate, approved_plate = random_plate(), random_plate()
    withdrawn = committed_watch(withdrawn_plate)
    matcher = new_matcher(bus, sessions)
    push_pass(bus, pass_event(withdrawn_plate, checkpoint))
    assert drain(matcher) == 1
    with sessions() as db:  # committed, and nobody tells Redis (the API died right after its commit)
        supervisor = db.get_one(User, withdrawn.approved_by)
        requester = db.get_one(User, withdrawn.requested_by)
        entry = db.get_one(WatchEntry, withdrawn.id)
        service.request_withdrawal(db, requester, entry, "vehicle recovered")
        service.withdraw_watch(db, supervisor, entry, "vehicle recovered")
        from checkpoint.watchlist.schemas import WatchCreate

        fresh = service.create_watch(db, requester, WatchCreate(pattern=approved_plate, category="stolen",
                                                                reason="approved behind Redis' back"))
        service.approve_watch(db, supervisor, fresh, "ok")
        db.commit()
        fresh_id = fresh.id
    version_due(matcher)  # Redis's version did not move: the bound is the database check's period
    push_pass(bus, pass_event(withdrawn_plate, checkpoint))
    push_pass(bus, pass_event(approved_plate, checkpoint))
    assert drain(matcher) == 1  # the approved one; the withdrawn one no longer matches
    assert hits(sessions, withdrawn.id)[0] == 1 and hits(sessions, fresh_id)[0] == 1
    assert bus.hget(ENTRIES_KEY, str(withdrawn.id)) is None  # and Redis was caught up on the way

    unreachable = create_engine(engine.url.set(port=9), connect_args={"connect_timeout": 2})
    matcher.sessions = sessionmaker(bind=unreachable)  # PostgreSQL gone: the version cannot be known
    version_due(matcher)
    push_pass(bus, pass_event(approved_plate, checkpoint))
    with pytest.raises(OperationalError):
        matcher.step()
    assert bus.xpending(PASSES_STREAM, GROUP)["pending"] == 1  # not matched, not acked: read again later
    matcher.sessions = sessions
    assert matcher.step() is True
    matcher.flush_acks()
    assert bus.xpending(PASSES_STREAM, GROUP)["pending"] == 0 and hits(sessions, fresh_id)[0] == 2
    unreachable.dispose()


def test_rebuild_killed_midway_leaves_a_usable_index(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch, checkpoint: Checkpoint,
        engine: Engine, servers: tuple[str, str]) -> None:
    plates = [random_plate() for _ in range(4)]
    entries = [committed_watch(plate) for plate in plates]
    before = (bus.get(VERSION_KEY), bus.hgetall(ENTRIES_KEY))

    arm("index.mid_rebuild")  # a crash half-way through the rebuild, in this process
    try:
        with pytest.raises(FaultInjected):
            index.rebuild(bus, sessions)
    finally:
        disarm_all()
    assert (bus.get(VERSION_KEY), bus.hgetall(ENTRIES_KEY)) == before and bus.get(READY_KEY)

    env = {**os.environ, "CHECKPOINT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "CHECKPOINT_REDIS_URL": servers[1], "CHECKPOINT_FAULT": "index.mid_rebuild"}
    killed = subprocess.run([sys.executable, "-m", "checkpoint.watchlist.cli", "rebuild"], env=env,
                            capture_output=True, timeout=60, check=False)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]  # SIGKILLed itself half-way
    assert (bus.get(VERSION_KEY), bus.hgetall(ENTRIES_KEY)) == before and bus.get(READY_KEY)

    with sessions() as db:  # a change while the dead rebuilder's lock lingers
        entry = db.get_one(WatchEntry, entries[0].id)
        service.request_withdrawal(db, db.get_one(User, entry.requested_by), entry, "vehicle recovered")
        service.withdraw_watch(db, db.get_one(User, entry.approved_by), entry, "vehicle recovered")
        db.commit()
    matcher = new_matcher(bus, sessions)  # catches the old index up: no rebuild, no wait for the lock
    for plate in plates:
        push_pass(bus, pass_event(plate, checkpoint))
    assert drain(matcher) == 3
    assert [hits(sessions, e.id)[0] for e in entries] == [0, 1, 1, 1]
    with sessions() as db:
        assert bus.get(VERSION_KEY) == str(database_version(db))
    wait_until(lambda: index.rebuild(bus, sessions), timeout_s=15, what="the dead rebuilder's lock expiring")
    indexed = set(bus.hkeys(ENTRIES_KEY))
    assert not bus.exists(ENTRIES_KEY + ":new")
    assert {str(e.id) for e in entries[1:]} <= indexed and str(entries[0].id) not in indexed
