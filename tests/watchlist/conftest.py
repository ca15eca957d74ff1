"""Watchlist helpers: headers for a given user, watches put in force, pass events on the stream."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import users
from checkpoint.core.bus import PASSES_STREAM, ensure_group
from checkpoint.core.models import User
from checkpoint.core.settings_groups import WatchlistSettings
from checkpoint.passes.record import CapturedPass, PassEvent
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import index, service
from checkpoint.watchlist.alerts import ALERTS_STREAM
from checkpoint.watchlist.models import WatchEntry
from checkpoint.watchlist.relay import Relay
from checkpoint.watchlist.schemas import WatchCreate
from checkpoint.watchlist.worker import GROUP, Matcher
from tests.conftest import PASSWORD, token_for


def random_plate(prefix: str = "粤L") -> str:
    tail = [secrets.choice("39CEFHJKMNPRWXY") for _ in range(5)]  # few confusables: no accidental fuzz
    return prefix + "".join(tail)


def headers_for(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


def pass_event(plate: str, checkpoint: Checkpoint, at: datetime | None = None, colour: str = "blue") -> PassEvent:
    captured = CapturedPass(checkpoint_id=checkpoint.id, plate=plate, captured_at=at or datetime.now(UTC),
                            plate_colour=colour, image_path=f"images/{plate}.jpg", source="test")
    return PassEvent(captured=captured, lat=checkpoint.lat, lon=checkpoint.lon)


def push_pass(bus: Redis, event: PassEvent) -> str:
    fields: dict[Any, Any] = dict(event.to_fields())
    return str(bus.xadd(PASSES_STREAM, fields))


@pytest.fixture
def checkpoints(session: Session) -> list[Checkpoint]:
    return list(session.scalars(select(Checkpoint).order_by(Checkpoint.id)))


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user("officer", "approver")


@pytest.fixture
def officer(make_user: Callable[..., User]) -> User:
    return make_user("officer")


WatchMaker = Callable[..., dict[str, object]]


@pytest.fixture
def active_watch(client: TestClient, officer: User, supervisor: User) -> WatchMaker:
    """Register a watch as `officer` and have `supervisor` approve it; returns the watch JSON."""

    def make(pattern: str, mode: str = "exact", **extra: object) -> dict[str, object]:
        body = {"pattern": pattern, "match_mode": mode, "category": "stolen", "reason": "test watch", **extra}
        created = client.post("/api/v1/watchlist/watches", json=body, headers=headers_for(officer))
        assert created.status_code == 201, created.text
        approved = client.post(f"/api/v1/watchlist/watches/{created.json()['id']}/approve", json={"reason": "ok"},
                               headers=headers_for(supervisor))
        assert approved.status_code == 200, approved.text
        return dict(approved.json())

    return make


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


@pytest.fixture
def committed_watch(sessions: sessionmaker[Session], bus: Redis) -> Callable[..., WatchEntry]:
    """A watch registered, approved and committed (so matcher threads and processes see it), in the index."""
    with sessions() as db:
        requester = users.create(db, username=f"o{secrets.token_hex(4)}", password=PASSWORD, roles=["officer"])
        approver = users.create(db, username=f"s{secrets.token_hex(4)}", password=PASSWORD,
                                roles=["officer", "approver"])
        db.commit()

    def make(pattern: str, mode: str = "exact", **extra: object) -> WatchEntry:
        data = WatchCreate.model_validate({"pattern": pattern, "match_mode": mode, "category": "stolen",
                                           "reason": "test watch", **extra})
        with sessions() as db:
            entry = service.create_watch(db, requester, data)
            service.approve_watch(db, approver, entry, "ok")
            db.commit()
            index.mirror(bus, db)
        return entry

    return make


def new_matcher(bus: Redis, sessions: sessionmaker[Session], name: str = "test") -> Matcher:
    matcher = Matcher(bus, sessions, f"{name}-{secrets.token_hex(3)}", WatchlistSettings())
    ensure_group(bus, PASSES_STREAM, GROUP)
    matcher.ensure_index()
    return matcher


def drain(matcher: Matcher) -> int:
    """Hand every waiting pass to the matcher; returns the hits."""
    hits = 0
    while messages := matcher.read():
        hits += matcher.handle(messages)
    return hits


def relay_all(bus: Redis, sessions: sessionmaker[Session]) -> int:
    """Publish every alert event waiting in the outbox (what the relay thread does); returns how many."""
    relay = Relay(bus, sessions)
    total = 0
    while published := relay.publish_once():
        total += published
    return total


def published_for(bus: Redis, sessions: sessionmaker[Session], entry_id: int) -> list[dict[str, str]]:
    """The `checkpoint:alerts` entries of one watch's alerts, after relaying the outbox (other tests' events
    are published too, and left out here)."""
    relay_all(bus, sessions)
    entries: Any = bus.xrange(ALERTS_STREAM)
    return [fields for _id, fields in entries if json.loads(fields["alert"])["entry_id"] == entry_id]


def blocking(chunks: AsyncIterator[str]) -> Iterator[str]:
    """Read the (asynchronous) live stream from a test, one chunk at a time on an event loop of its own."""
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(anext(chunks))
            except StopAsyncIteration:
                return
    finally:
        loop.run_until_complete(chunks.aclose())  # type: ignore[attr-defined]  # an async generator
        loop.close()
