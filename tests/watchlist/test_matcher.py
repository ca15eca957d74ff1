"""The matcher on real PostgreSQL and Redis: hits, dedup by (pass, watch), grouping, expiry, rebuild."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import PASSES_STREAM
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.index import ENTRIES_KEY, READY_KEY
from checkpoint.watchlist.models import HitAlert, WatchEntry, WatchHit
from tests.watchlist.conftest import drain, new_matcher, pass_event, published_for, push_pass, random_plate

Watch = Callable[..., WatchEntry]


def alerts_for(sessions: sessionmaker[Session], entry_id: int) -> list[HitAlert]:
    with sessions() as db:
        return list(db.scalars(select(HitAlert).where(HitAlert.entry_id == entry_id).order_by(HitAlert.id)))


def stream_kinds(bus: Redis, sessions: sessionmaker[Session], entry_id: int) -> list[str]:
    return [fields["kind"] for fields in published_for(bus, sessions, entry_id)]


def test_exact_wildcard_and_fuzzy_hits_say_why(bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch,
                                               checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    exact = committed_watch(plate)
    fuzzy = committed_watch(random_plate(), "fuzzy")
    pair = random_plate()[2:4]
    wildcard = committed_watch(f"粤L?{pair}*", "wildcard")
    matcher = new_matcher(bus, sessions)
    for event in (pass_event(plate, checkpoints[0]),
                  pass_event(fuzzy.pattern[:2] + fuzzy.pattern[3:], checkpoints[1]),
                  pass_event(f"粤LC{pair}EF", checkpoints[2])):
        push_pass(bus, event)
    assert drain(matcher) >= 3
    assert alerts_for(sessions, exact.id)[0].why == "exact"
    assert alerts_for(sessions, fuzzy.id)[0].why.startswith("missing")
    assert alerts_for(sessions, wildcard.id)[0].why == f"wildcard {wildcard.pattern}"


def test_a_confusion_is_matched_and_named(bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch,
                                          checkpoints: list[Checkpoint]) -> None:
    watched = "粤L" + random_plate()[2:6] + "8"
    entry = committed_watch(watched, "fuzzy")
    push_pass(bus, pass_event(watched[:-1] + "B", checkpoints[0]))
    drain(new_matcher(bus, sessions))
    assert alerts_for(sessions, entry.id)[0].why == "confusion 8→B@7"


def test_a_redelivered_pass_is_not_alerted_twice(bus: Redis, sessions: sessionmaker[Session],
                                                 committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    entry = committed_watch(plate)
    event = pass_event(plate, checkpoints[0])
    push_pass(bus, event)
    push_pass(bus, event)  # the writer appended the same pass twice (at-least-once upstream)
    matcher = new_matcher(bus, sessions)
    drain(matcher)
    assert len(alerts_for(sessions, entry.id)) == 1
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(WatchHit).where(WatchHit.entry_id == entry.id)) == 1
    assert stream_kinds(bus, sessions, entry.id) == ["new"]


def test_repeats_of_one_vehicle_join_one_alert(bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch,
                                               checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    entry = committed_watch(plate)
    start = datetime.now(UTC)
    for minutes, checkpoint in ((0, checkpoints[0]), (3, checkpoints[5]), (30, checkpoints[9])):
        push_pass(bus, pass_event(plate, checkpoint, start + timedelta(minutes=minutes)))
    drain(new_matcher(bus, sessions))
    found = alerts_for(sessions, entry.id)
    assert [alert.hit_count for alert in found] == [2, 1]  # 30 min later is past the 10 min window
    assert found[0].last_checkpoint_id == checkpoints[5].id
    assert stream_kinds(bus, sessions, entry.id) == ["new", "repeat", "new"]


def test_a_watch_stops_matching_the_second_it_expires(bus: Redis, sessions: sessionmaker[Session],
                                                      committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    ends = datetime.now(UTC) + timedelta(minutes=5)
    entry = committed_watch(plate, valid_to=ends.isoformat())
    push_pass(bus, pass_event(plate, checkpoints[0], ends - timedelta(milliseconds=1)))
    push_pass(bus, pass_event(plate, checkpoints[1], ends))
    push_pass(bus, pass_event(plate, checkpoints[2], ends + timedelta(seconds=1)))
    matcher = new_matcher(bus, sessions)
    drain(matcher)
    found = alerts_for(sessions, entry.id)
    assert len(found) == 1 and found[0].hit_count == 1 and found[0].checkpoint_id == checkpoints[0].id

    with sessions() as db:  # once its end has passed, the sweep marks it expired and unindexes it
        db.execute(update(WatchEntry).where(WatchEntry.id == entry.id)
                   .values(valid_from=ends - timedelta(days=2), valid_to=ends - timedelta(days=1)))
        db.commit()
    matcher.sweep_expired()
    with sessions() as db:
        assert db.get(WatchEntry, entry.id).status == "expired"  # type: ignore[union-attr]  # it exists
    assert bus.hget(ENTRIES_KEY, str(entry.id)) is None


def test_an_emptied_redis_is_rebuilt_from_postgresql(bus: Redis, sessions: sessionmaker[Session],
                                                     committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    entry = committed_watch(plate)
    matcher = new_matcher(bus, sessions)
    bus.flushdb()  # Redis restarted without persistence: index, stream and group are gone
    assert not bus.exists(READY_KEY)
    push_pass(bus, pass_event(plate, checkpoints[0]))
    assert drain(matcher) == 1  # the group is re-created from the stream's start, the index rebuilt
    assert bus.exists(READY_KEY) and len(alerts_for(sessions, entry.id)) == 1
    assert bus.xlen(PASSES_STREAM) == 1


def test_the_demo_plants_a_watch_on_the_busiest_plate(bus: Redis, sessions: sessionmaker[Session],
                                                      checkpoints: list[Checkpoint]) -> None:
    from checkpoint.passes.models import Pass
    from checkpoint.watchlist.demo import plant_demo_watch

    plate = random_plate("粤Q")
    with sessions() as db:
        for minutes in range(40):  # busier than anything other tests commit
            at = datetime.now(UTC) - timedelta(minutes=minutes)
            db.add(Pass(id=uuid.uuid4(), captured_at=at, plate=plate, checkpoint_id=checkpoints[0].id,
                        lat=checkpoints[0].lat, lon=checkpoints[0].lon))
        db.commit()
    entry = plant_demo_watch(sessions, bus)
    assert entry is not None and entry.pattern == plate and entry.status == "active"
    assert plate in str(bus.hget(ENTRIES_KEY, str(entry.id)))
    assert plant_demo_watch(sessions, bus).id == entry.id  # type: ignore[union-attr]  # planted once


def test_a_withdrawn_watch_stops_matching_at_once(bus: Redis, sessions: sessionmaker[Session],
                                                  committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    from checkpoint.core.models import User
    from checkpoint.watchlist import index, service

    plate = random_plate()
    entry = committed_watch(plate)
    matcher = new_matcher(bus, sessions)
    push_pass(bus, pass_event(plate, checkpoints[0]))
    assert drain(matcher) == 1
    with sessions() as db:
        supervisor = db.get(User, entry.approved_by)
        assert supervisor is not None
        found = db.get_one(WatchEntry, entry.id)
        service.request_withdrawal(db, db.get_one(User, found.requested_by), found, "vehicle recovered")
        service.withdraw_watch(db, supervisor, found, "vehicle recovered")
        db.commit()
        index.mirror(bus, db)
    push_pass(bus, pass_event(plate, checkpoints[1], datetime.now(UTC) + timedelta(hours=1)))
    assert drain(matcher) == 0


def test_a_pass_that_keeps_failing_is_dead_lettered_and_the_others_go_on(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    from sqlalchemy.exc import IntegrityError

    from checkpoint.core.bus import DEAD_STREAM
    from checkpoint.core.settings_groups import WatchlistSettings
    from checkpoint.watchlist.worker import Matcher

    poison_plate, good_plate = random_plate(), random_plate()
    committed_watch(poison_plate)
    good = committed_watch(good_plate)
    nowhere = Checkpoint(id=2_000_000_000, lat=23.1, lon=114.4)  # no such checkpoint: its alert cannot be stored
    poison_id = push_pass(bus, pass_event(poison_plate, nowhere))
    push_pass(bus, pass_event(good_plate, checkpoints[0]))
    matcher = Matcher(bus, sessions, "poison-test", WatchlistSettings(max_deliveries=3))
    with pytest.raises(IntegrityError):
        matcher.step()  # the whole batch fails once
    assert matcher.step() is False  # pass by pass: the good one is stored, the poisoned one fails again
    assert len(alerts_for(sessions, good.id)) == 1
    assert bus.xlen(DEAD_STREAM) == 0
    assert matcher.step() is True  # its third delivery: dead-lettered with the reason
    dead: Any = bus.xrange(DEAD_STREAM)
    assert [fields["_id"] for _id, fields in dead] == [poison_id]
    assert dead[0][1]["_reason"].startswith("failed 3 deliveries; last error: IntegrityError")
    assert bus.xpending(PASSES_STREAM, "watchlist")["pending"] == 0


def test_a_matcher_dying_after_its_commit_before_its_ack_alerts_each_pass_once(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    from checkpoint.core.faults import FaultInjected, arm, disarm_all

    plate = random_plate()
    entry = committed_watch(plate)
    for index in range(4):
        push_pass(bus, pass_event(plate if index % 2 == 0 else random_plate(), checkpoints[index % 2]))
    matcher = new_matcher(bus, sessions)
    arm("stream.after_handle")  # the hits are committed and pushed; the process "dies" before the ack
    try:
        with pytest.raises(FaultInjected):
            matcher.step()
    finally:
        disarm_all()
    assert bus.xpending(PASSES_STREAM, "watchlist")["pending"] == 4
    assert matcher.step() is True  # its own pending passes, read again: handled again, idempotently
    assert matcher.step() is True  # (their acks went with this read)
    assert bus.xpending(PASSES_STREAM, "watchlist")["pending"] == 0
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(WatchHit).where(WatchHit.entry_id == entry.id)) == 2
    assert len(alerts_for(sessions, entry.id)) == 1  # the two passes of one vehicle join one alert
    assert len(stream_kinds(bus, sessions, entry.id)) == 2  # one event per (pass, watch), none repeated


def test_a_repeat_moves_the_alert_to_the_last_checkpoint_and_predicts_from_there(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    on_roads = [cp for cp in checkpoints if cp.edge_id is not None]
    first, second = on_roads[0], on_roads[-1]
    plate = random_plate()
    entry = committed_watch(plate)
    start = datetime.now(UTC) + timedelta(seconds=1)  # (the watch is in force from now)
    matcher = new_matcher(bus, sessions)
    push_pass(bus, pass_event(plate, first, start))
    drain(matcher)
    before = alerts_for(sessions, entry.id)[0]
    assert (before.last_checkpoint_code, before.last_checkpoint_name) == (first.code, first.name)
    assert before.predicted and all(step["checkpoint_id"] != first.id for step in before.predicted)

    push_pass(bus, pass_event(plate, second, start + timedelta(minutes=3)))
    drain(matcher)
    [after] = alerts_for(sessions, entry.id)
    assert after.hit_count == 2
    assert (after.checkpoint_code, after.checkpoint_name) == (first.code, first.name)  # where it was first seen
    assert (after.last_checkpoint_id, after.last_checkpoint_code, after.last_checkpoint_name) == \
        (second.id, second.code, second.name)
    assert (after.last_lat, after.last_lon) == (second.lat, second.lon)
    assert after.last_seen_at == start + timedelta(minutes=3)
    assert after.predicted and all(step["checkpoint_id"] != second.id for step in after.predicted)
    assert after.predicted != before.predicted
    for step in after.predicted:  # ETAs counted from the repeat, not the first hit
        arrival = datetime.fromisoformat(step["eta_at"]) - after.last_seen_at
        assert abs(arrival.total_seconds() - step["eta_s"]) <= 0.5  # eta_s is rounded
    repeat = [json.loads(fields["alert"]) for fields in published_for(bus, sessions, entry.id)][-1]
    assert repeat["last_checkpoint_code"] == second.code and repeat["last_checkpoint_name"] == second.name

    push_pass(bus, pass_event(plate, checkpoints[2], start + timedelta(minutes=1)))  # late, older than the last
    drain(matcher)
    [late] = alerts_for(sessions, entry.id)
    assert late.hit_count == 3 and late.last_checkpoint_id == second.id


def test_a_pass_matching_two_watches_makes_one_alert_listing_both(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    exact = committed_watch(plate, priority=3)
    wildcard = committed_watch(plate[:-2] + "??", "wildcard", priority=1)
    matcher = new_matcher(bus, sessions)
    event = pass_event(plate, checkpoints[0])
    push_pass(bus, event)
    push_pass(bus, event)  # appended twice: still one pass
    drain(matcher)
    with sessions() as db:
        found = list(db.scalars(select(HitAlert).where(HitAlert.plate == plate)))
        hits = db.scalar(select(func.count()).select_from(WatchHit).where(WatchHit.pass_id == event.captured.pass_id))
    assert len(found) == 1 and found[0].hit_count == 1 and hits == 2
    alert = found[0]
    assert alert.entry_id == wildcard.id  # the most urgent watch leads
    assert [(w["entry_id"], w["pattern"], w["why"]) for w in alert.watches] == \
        [(wildcard.id, wildcard.pattern, f"wildcard {wildcard.pattern}"), (exact.id, plate, "exact")]
    assert stream_kinds(bus, sessions, wildcard.id) == ["new"]

    push_pass(bus, pass_event(plate, checkpoints[1], datetime.now(UTC) + timedelta(seconds=30)))
    drain(matcher)
    with sessions() as db:
        [again] = db.scalars(select(HitAlert).where(HitAlert.plate == plate))
    assert again.hit_count == 2 and len(again.watches) == 2
    assert stream_kinds(bus, sessions, wildcard.id) == ["new", "repeat"]


def test_a_fuzzy_watch_typed_one_character_short_matches_the_whole_plate(
        bus: Redis, sessions: sessionmaker[Session], committed_watch: Watch, checkpoints: list[Checkpoint]) -> None:
    plate = random_plate()
    entry = committed_watch(plate[:-1], "fuzzy")  # the officer saw only six characters
    push_pass(bus, pass_event(plate, checkpoints[0]))
    drain(new_matcher(bus, sessions))
    [alert] = alerts_for(sessions, entry.id)
    assert alert.plate == plate and alert.why == f"extra {plate[-1]}@7"
