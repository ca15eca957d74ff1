"""The alerts outbox on real servers: a hit is stored with its event in one transaction; a relay publishes
every event once by id through crashes; live streams resume from Last-Event-ID, stay open when idle and
fall back to PostgreSQL while Redis is down; an alert is raised even when its images cannot be kept."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.faults import FaultInjected, arm, disarm_all
from checkpoint.passes.images import image_relpath, write_image
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.alerts import ALERTS_STREAM
from checkpoint.watchlist.live_stream import live_events
from checkpoint.watchlist.models import AlertEvent, DispatcherScope, HitAlert, WatchEntry, WatchHit
from checkpoint.watchlist.relay import Relay, latest_event_id, start_relay_thread
from checkpoint.watchlist.worker import Matcher
from tests.waiting import wait_until
from tests.watchlist.conftest import blocking, drain, new_matcher, pass_event, push_pass, random_plate, relay_all
from tests.watchlist.test_webhook_and_prediction import Platform

Watch = Callable[..., WatchEntry]
WHOLE_NETWORK = DispatcherScope(user_id=0, whole_network=True, districts=[], checkpoint_ids=[])


def worker_env(engine: Engine, servers: tuple[str, str], **extra: str) -> dict[str, str]:
    return {**os.environ, "CHECKPOINT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "CHECKPOINT_REDIS_URL": servers[1], **extra}


def watch_cli(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "checkpoint.watchlist.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stream_events(bus: Redis, entry_ids: set[int]) -> list[dict[str, str]]:
    """The `checkpoint:alerts` entries of these watches' alerts, in stream order."""
    entries: Any = bus.xrange(ALERTS_STREAM)
    return [fields for _id, fields in entries if json.loads(fields["alert"])["entry_id"] in entry_ids]


def hits_of(sessions: sessionmaker[Session], entry_ids: set[int]) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(WatchHit).where(WatchHit.entry_id.in_(entry_ids))) or 0)


def test_matcher_killed_between_commit_and_publish_loses_no_alert(  # and the webhook gets each once by id
        bus: Redis, engine: Engine, servers: tuple[str, str], sessions: sessionmaker[Session],
        committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    plates = [random_plate() for _ in range(10)]
    entry_ids = {committed_watch(plate).id for plate in plates}
    for at, plate in enumerate(plates):
        push_pass(bus, pass_event(plate, checkpoints[at]))
    consumer = f"killed-{secrets.token_hex(3)}"
    platform = Platform()  # the provincial webhook, accepting
    platform.accept = True
    env = worker_env(engine, servers, CHECKPOINT_WATCHLIST_WEBHOOK_URL=platform.url)
    doomed = watch_cli({**env, "CHECKPOINT_FAULT": "matcher.after_commit"}, "matcher", "--consumer", consumer)
    assert doomed.wait(timeout=60) == -9  # killed itself right after its first commit with hits
    stored = hits_of(sessions, entry_ids)
    assert stored >= 1 and stream_events(bus, entry_ids) == []  # committed, nobody told yet

    again = watch_cli(env, "matcher", "--consumer", consumer)  # reads its unacked passes again
    relay = watch_cli(env, "relay")
    try:
        wait_until(lambda: hits_of(sessions, entry_ids) == len(plates), timeout_s=30, what="every pass matched")
        wait_until(lambda: len(stream_events(bus, entry_ids)) >= len(plates), timeout_s=30,
                   what="every alert published")
        wait_until(lambda: {body["plate"] for _id, _ok, body in platform.received} >= set(plates), timeout_s=30,
                   what="every alert forwarded to the platform")
    finally:
        for process in (again, relay):
            process.terminate()
            process.wait(timeout=10)
        platform.server.shutdown()
    with sessions() as db:
        alerts = list(db.scalars(select(HitAlert).where(HitAlert.entry_id.in_(entry_ids))))
    assert len(alerts) == len(plates) and all(alert.hit_count == 1 for alert in alerts)  # each stored once
    published = stream_events(bus, entry_ids)
    by_id = {fields["event_id"]: fields["alert_id"] for fields in published}
    assert len(published) == len(by_id) == len(plates)  # each in the stream once, by id
    assert sorted(int(alert_id) for alert_id in by_id.values()) == sorted(alert.id for alert in alerts)
    assert {fields["kind"] for fields in published} == {"new"}
    delivery_ids: dict[str, set[str]] = {}
    for delivery_id, _ok, body in platform.received:
        delivery_ids.setdefault(body["plate"], set()).add(delivery_id)
    assert all(len(delivery_ids[plate]) == 1 for plate in plates)  # at least once, under one delivery id


def test_relay_killed_after_publish_repeats_at_most_with_same_id(
        bus: Redis, engine: Engine, servers: tuple[str, str], sessions: sessionmaker[Session],
        committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    plates = [random_plate() for _ in range(5)]
    entry_ids = {committed_watch(plate).id for plate in plates}
    matcher = new_matcher(bus, sessions)
    for at, plate in enumerate(plates):
        push_pass(bus, pass_event(plate, checkpoints[at]))
    assert drain(matcher) == len(plates)
    env = worker_env(engine, servers)
    doomed = watch_cli({**env, "CHECKPOINT_FAULT": "relay.after_publish"}, "relay")
    assert doomed.wait(timeout=60) == -9  # appended its batch, killed before marking it published
    first = stream_events(bus, entry_ids)
    assert len(first) == len(plates)
    with sessions() as db:
        unmarked = db.scalar(select(func.count()).select_from(AlertEvent).where(
            AlertEvent.alert_id.in_(select(HitAlert.id).where(HitAlert.entry_id.in_(entry_ids))),
            AlertEvent.published_at.is_(None)))
    assert unmarked == len(plates)

    relay_all(bus, sessions)  # the next relay publishes them again: same ids
    published = stream_events(bus, entry_ids)
    assert len(published) == 2 * len(plates)
    assert [fields["event_id"] for fields in published[len(plates):]] == [fields["event_id"] for fields in first]
    assert relay_all(bus, sessions) == 0  # now marked: never a third time

    start = min(int(fields["event_id"]) for fields in first) - 1  # a console that saw everything before
    seen: list[int] = []
    for chunk in blocking(live_events(bus, sessions, WHOLE_NETWORK, start, heartbeat_s=0.5)):
        if chunk.startswith("id: "):
            event_id = int(chunk.split("\n", 1)[0][4:])
            if json.loads(chunk.split("data: ", 1)[1])["entry_id"] in entry_ids:
                seen.append(event_id)
        elif chunk.startswith(":"):
            break  # idle: everything was delivered
    assert sorted(seen) == sorted(int(fields["event_id"]) for fields in first) and len(set(seen)) == len(seen)


def test_relay_crash_in_process_leaves_events_to_publish(bus: Redis, sessions: sessionmaker[Session],
                                                          committed_watch: Watch,
                                                          checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    entry = committed_watch(plate)
    push_pass(bus, pass_event(plate, checkpoints[0]))
    drain(new_matcher(bus, sessions))
    arm("relay.after_publish")
    try:
        with pytest.raises(FaultInjected):
            relay_all(bus, sessions)
    finally:
        disarm_all()
    relay_all(bus, sessions)
    ids = [fields["event_id"] for fields in stream_events(bus, {entry.id})]
    assert len(ids) == 2 and len(set(ids)) == 1  # published twice, one id: a repeat that clients drop


def test_sse_delivers_from_postgresql_while_redis_is_down(bus: Redis, sessions: sessionmaker[Session],
                                                          committed_watch: Watch,
                                                          checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    entry = committed_watch(plate)
    relay_all(bus, sessions)
    with sessions() as db:
        start = latest_event_id(db)
    push_pass(bus, pass_event(plate, checkpoints[0]))
    drain(new_matcher(bus, sessions))
    relay_all(bus, sessions)  # numbered (and published on the live Redis)
    down = Redis(port=1, decode_responses=True)  # nothing listens there: Redis is "down" for this stream
    for chunk in blocking(live_events(down, sessions, WHOLE_NETWORK, start, heartbeat_s=0.5, poll_s=0.1)):
        if chunk.startswith("id: ") and json.loads(chunk.split("data: ", 1)[1])["entry_id"] == entry.id:
            assert "event: new" in chunk
            break
        assert not chunk.startswith(":"), "the alert was not delivered while Redis was down"


def test_alert_raised_when_the_image_folder_is_unwritable(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch, checkpoints: list[Checkpoint],
        tmp_path: Path) -> None:
    plate = random_plate()
    entry = committed_watch(plate)
    checkpoint = checkpoints[0]
    event = pass_event(plate, checkpoint)
    scene = image_relpath(event.captured.captured_at, checkpoint.code, event.captured.pass_id, "scene")
    write_image(tmp_path, scene, b"\xff\xd8\xff scene")
    (tmp_path / "alerts").write_bytes(b"not a folder")  # root ignores chmod: a file where the folder must be
    push_pass(bus, replace(event, captured=replace(event.captured, image_path=scene, plate_image_path=None)))
    matcher = Matcher(bus, sessions, f"images-{secrets.token_hex(3)}", data_dir=tmp_path)
    assert drain(matcher) == 1
    with sessions() as db:
        alert = db.scalars(select(HitAlert).where(HitAlert.entry_id == entry.id)).one()
    assert alert.image_path is None and alert.images_pending == {"scene": scene} and alert.images_missing
    relay = Relay(bus, sessions, tmp_path)
    relay.publish_once()
    relay.publish_once()
    [told] = stream_events(bus, {entry.id})
    assert told["kind"] == "new" and json.loads(told["alert"])["images_missing"] is True  # raised without it

    assert relay.retry_images() == 0  # still unwritable: still pending
    (tmp_path / "alerts").unlink()  # the disk is writable again
    assert relay.retry_images() >= 1
    while relay.publish_once():
        pass
    with sessions() as db:
        kept = db.get_one(HitAlert, alert.id)
    assert kept.images_pending is None and kept.image_path is not None
    assert (tmp_path / kept.image_path).read_bytes() == b"\xff\xd8\xff scene"
    update = stream_events(bus, {entry.id})[-1]
    assert update["kind"] == "update" and json.loads(update["alert"])["images_missing"] is False


def test_two_relays_publish_each_event_once_in_order(bus: Redis, sessions: sessionmaker[Session],
                                                      committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    plates = [random_plate() for _ in range(30)]
    entry_ids = {committed_watch(plate).id for plate in plates}
    matcher = new_matcher(bus, sessions)
    stop = threading.Event()
    relays = [start_relay_thread(bus, sessions, stop)[0] for _ in range(2)]  # racing from the first event
    try:
        for at, plate in enumerate(plates):
            push_pass(bus, pass_event(plate, checkpoints[at % len(checkpoints)]))
            if at % 7 == 0:
                drain(matcher)  # several commits while both relays run
        drain(matcher)
        wait_until(lambda: len(stream_events(bus, entry_ids)) >= len(plates), timeout_s=20, what="all published")
    finally:
        stop.set()
        for thread in relays:
            thread.join(timeout=10)
    ids = [int(fields["event_id"]) for fields in stream_events(bus, entry_ids)]
    assert len(ids) == len(set(ids)) == len(plates) and ids == sorted(ids)  # once each, in id order
    everything: Any = bus.xrange(ALERTS_STREAM)
    all_ids = [int(fields["event_id"]) for _id, fields in everything]
    assert all_ids == sorted(all_ids) and len(all_ids) == len(set(all_ids))  # the stream is in event-id order
