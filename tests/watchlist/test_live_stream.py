"""The dispatchers' live stream over real HTTP (uvicorn): a reconnect with Last-Event-ID misses nothing,
and an idle stream stays open past Redis' 5 s socket timeout, with heartbeats."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.models import User
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.models import DispatcherScope, WatchEntry
from checkpoint.watchlist.worker import Matcher
from tests.watchlist.conftest import drain, headers_for, new_matcher, pass_event, push_pass, random_plate, relay_all

STREAM = "/api/v1/watchlist/alerts/stream"


@dataclass
class Event:
    id: int
    kind: str
    plate: str


@contextmanager
def open_stream(live_server: str, headers: dict[str, str]) -> Iterator[Iterator[str]]:
    """GET the stream over a plain HTTP connection; yields its lines (a read waits at most 20 s)."""
    address = urlsplit(live_server)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=20)
    try:
        connection.request("GET", STREAM, headers=headers)
        response = connection.getresponse()
        assert response.status == 200, response.read()

        def lines() -> Iterator[str]:
            while raw := response.readline():
                yield raw.decode().rstrip("\r\n")

        yield lines()
    finally:
        connection.close()


def read_stream(lines: Iterator[str], comments: list[float]) -> Iterator[Event]:
    """Parse text/event-stream lines; comment lines (heartbeats) are noted with their time."""
    fields: dict[str, str] = {}
    for line in lines:
        if line.startswith(":"):
            comments.append(time.monotonic())
        elif line == "":
            if "data" in fields:
                yield Event(int(fields["id"]), fields.get("event", "message"), json.loads(fields["data"])["plate"])
            fields = {}
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def next_of(events: Iterator[Event], plate: str, seen: list[Event]) -> Event:
    for event in events:
        seen.append(event)
        if event.plate == plate:
            return event
    raise AssertionError(f"the stream ended before the alert on {plate}")


class Alerts:
    """Raise an alert end to end: a pass on the stream, the matcher, the relay."""

    def __init__(self, bus: Redis, sessions: sessionmaker[Session], committed_watch: Callable[..., WatchEntry],
                 checkpoint: Checkpoint) -> None:
        self.bus, self.sessions, self.watch, self.checkpoint = bus, sessions, committed_watch, checkpoint
        self.matcher: Matcher = new_matcher(bus, sessions)

    def raise_one(self) -> str:
        plate = random_plate()
        self.watch(plate)
        push_pass(self.bus, pass_event(plate, self.checkpoint))
        assert drain(self.matcher) == 1
        relay_all(self.bus, self.sessions)
        return plate


def whole_network_dispatcher(committed_user: Callable[..., User], sessions: sessionmaker[Session]) -> User:
    dispatcher = committed_user("dispatcher")
    with sessions() as db:
        db.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[], checkpoint_ids=[]))
        db.commit()
    return dispatcher


def test_sse_resumes_from_last_event_id_after_reconnect(
        live_server: str, bus: Redis, sessions: sessionmaker[Session], committed_user: Callable[..., User],
        committed_watch: Callable[..., WatchEntry], checkpoints: list[Checkpoint]) -> None:
    headers = headers_for(whole_network_dispatcher(committed_user, sessions))
    alerts = Alerts(bus, sessions, committed_watch, checkpoints[0])
    relay_all(bus, sessions)
    comments: list[float] = []
    with open_stream(live_server, headers) as lines:
        first_plate = alerts.raise_one()
        first = next_of(read_stream(lines, comments), first_plate, [])
    missed = [alerts.raise_one(), alerts.raise_one()]  # while the console was away
    with open_stream(live_server, {**headers, "Last-Event-ID": str(first.id)}) as lines:
        events = read_stream(lines, comments)
        seen: list[Event] = []
        next_of(events, missed[1], seen)
        live_plate = alerts.raise_one()  # after the replay, live again on the same connection
        next_of(events, live_plate, seen)
    ours = [event for event in seen if event.plate in (*missed, live_plate)]
    assert [event.plate for event in ours] == [*missed, live_plate]  # each once, in order
    assert all(event.id > first.id and event.kind == "new" for event in seen)
    assert [event.id for event in seen] == sorted({event.id for event in seen})  # no repeat, never back


def test_sse_stays_open_on_an_idle_stream_past_the_socket_timeout(
        live_server: str, bus: Redis, sessions: sessionmaker[Session], committed_user: Callable[..., User],
        committed_watch: Callable[..., WatchEntry], checkpoints: list[Checkpoint]) -> None:
    headers = headers_for(whole_network_dispatcher(committed_user, sessions))
    alerts = Alerts(bus, sessions, committed_watch, checkpoints[0])
    relay_all(bus, sessions)
    comments: list[float] = []
    with open_stream(live_server, headers) as lines:
        opened = time.monotonic()
        for line in lines:  # idle: nothing but the retry line and heartbeats
            if line.startswith(":"):
                comments.append(time.monotonic())
                if comments[-1] - opened >= 8.0:
                    break
            assert not line.startswith("data"), "no alert was raised, none may arrive"
        assert comments and comments[-1] - opened >= 8.0  # open past Redis' 5 s socket timeout
        plate = alerts.raise_one()
        event = next_of(read_stream(lines, comments), plate, [])
    assert event.kind == "new"  # the same connection, still live


def test_open_streams_hold_no_worker_thread(
        live_server: str, sessions: sessionmaker[Session], committed_user: Callable[..., User]) -> None:
    """More open consoles than the server's worker threads (40): every other request is still answered."""
    headers = headers_for(whole_network_dispatcher(committed_user, sessions))
    address = urlsplit(live_server)
    streams = []
    try:
        for _ in range(45):
            connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=20)
            connection.request("GET", STREAM, headers=headers)
            response = connection.getresponse()
            assert response.status == 200 and response.readline().startswith(b"retry:")
            streams.append(connection)
        started = time.monotonic()
        other = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=20)
        other.request("GET", "/api/v1/watchlist/alerts?limit=1", headers=headers)
        assert other.getresponse().status == 200
        other.close()
        assert time.monotonic() - started < 5.0  # not waiting for a stream's thread to come free
    finally:
        for connection in streams:
            connection.close()
