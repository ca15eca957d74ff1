"""The demo's 7-day history: each investigator analysis finds its planted case and nothing else.

The history is generated and COPYed into this run's database (rolled back after), then every
analysis runs on the raw passes, and again on the day summaries the hourly job would make.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from itertools import takewhile
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.demo import TAXI_PLATE, live_sightings, resume_fleet
from checkpoint.demo_history import (
    HISTORY_DAYS,
    HistoryLoaded,
    PlateImages,
    load_history,
    plan_history,
    store_history,
    store_sightings,
)
from checkpoint.trajectory.analyses.clones import find_clones
from checkpoint.trajectory.analyses.first_entry import first_entries
from checkpoint.trajectory.analyses.frequent import frequent_passing
from checkpoint.trajectory.analyses.population import night_active
from checkpoint.trajectory.analyses.targeted import PlaceWindow, area_collision, companions, resting_places
from checkpoint.trajectory.summaries import rebuild_frequent, summarise_day

TIMEZONE = "Asia/Shanghai"
ZONE = ZoneInfo(TIMEZONE)


def whole_day(day: date | None) -> tuple[datetime, datetime]:
    assert day is not None
    start = datetime(day.year, day.month, day.day, tzinfo=ZONE)
    return start, start + timedelta(days=1)


def check_analyses(session: Session, loaded: HistoryLoaded, timezone: str | None) -> None:
    """Every analysis over the history returns exactly what was planted for it."""
    cases, start, end = loaded.planted, loaded.start, loaded.end

    clones = find_clones(session, start, end, timezone=timezone)
    assert {item.plate for item in clones.items} == {cases.clone_plate}
    assert {item.kind for item in clones.items} == {"impossible-travel"}  # no pair that was not planted
    assert 1 <= clones.total <= 4
    assert all(item.first.captured_at.astimezone(ZONE).date() == cases.clone_day for item in clones.items)

    day_start, day_end = whole_day(cases.first_entry_day)
    entries = first_entries(session, day_start, day_end, timezone=timezone)
    listed = [item.plate for item in entries.items]
    assert cases.first_entry_plate in listed and len(listed) <= 3  # short: the planted car (and rarely a
    for plate in listed:  # through truck seen for the first time that day), each a true first entry
        earlier = session.execute(text("SELECT count(*) FROM pass WHERE plate = :plate AND captured_at < :start"),
                                  {"plate": plate, "start": day_start}).scalar_one()
        assert earlier == 0, plate

    night = night_active(session, start, end, timezone=TIMEZONE, use_summaries=timezone is not None)
    assert [item.plate for item in night.items] == [cases.night_plate]
    assert night.items[0].night_share == 1.0 and night.items[0].night_days >= 5

    frequent = frequent_passing(session, *whole_day(cases.frequent_day), timezone=timezone)
    circling = {(item.plate, item.checkpoint_id, item.passes) for item in frequent.items[:2]}
    assert circling == {(cases.frequent_plate, checkpoint_id, 20) for checkpoint_id in cases.frequent_checkpoints}
    assert all(loaded.kinds[item.plate] == "taxi" and item.passes < 20 for item in frequent.items[2:])  # taxis do

    followers = companions(session, cases.companion_target, start, end)
    assert [(item.plate, item.rate) for item in followers.items] == [(cases.companion, 1.0)]

    rests = resting_places(session, cases.resting_plate, start, end)
    assert [place.checkpoint_id for place in rests.items] == [cases.resting_checkpoint]
    assert rests.items[0].times >= HISTORY_DAYS - 2

    windows = [PlaceWindow(scene.start, scene.end, checkpoints=[str(scene.checkpoint_id)])
               for scene in cases.collision_scenes]
    collided = area_collision(session, windows)
    assert [item.plate for item in collided.items] == [cases.collision_plate]


def test_each_analysis_finds_its_planted_case_and_nothing_impossible(session: Session, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    loaded = load_history(session, tmp_path, now, ZONE)
    print(f"\ndemo history: {loaded.passes} passes over {HISTORY_DAYS} days and today in {loaded.seconds:.1f} s")
    assert loaded.passes > 50_000  # the load time is measured by bench/bench_demo_history.py
    days = session.execute(text("SELECT count(DISTINCT plate), min(captured_at), max(captured_at) FROM pass "
                                "WHERE captured_at >= :start"), {"start": loaded.start}).one()
    assert days[0] > 2_000 and days[1] >= loaded.start and days[2] < now
    image = session.execute(text("SELECT image_path, plate_image_path FROM pass WHERE captured_at >= :start "
                                 "LIMIT 1"), {"start": loaded.start}).one()
    assert (tmp_path / image[0]).stat().st_size > 1_000 and (tmp_path / image[1]).stat().st_size > 500

    started = time.perf_counter()
    check_analyses(session, loaded, timezone=None)
    for day in loaded.planted.days:
        summarise_day(session, day, TIMEZONE)
    rebuild_frequent(session, TIMEZONE)
    check_analyses(session, loaded, timezone=TIMEZONE)
    print(f"analyses, raw then summarised: {time.perf_counter() - started:.1f} s")


def test_live_traffic_carries_on_from_the_history_and_after_a_restart(session: Session, tmp_path: Path) -> None:
    """The live demo starts where the history left each vehicle, and a restart where the database did:
    still no impossible travel but the planted clone, and the watched taxi passes within a minute."""
    today = datetime.now(ZONE).date()
    now = datetime(today.year, today.month, today.day, 10, 0, tzinfo=ZONE).astimezone(UTC)  # a busy hour
    plan = plan_history(session, now, ZONE, scale=0.3)
    images = PlateImages(tmp_path)
    assert store_history(session, plan, images) == len(plan.sightings)
    hour_and_half = timedelta(minutes=90)
    live = list(takewhile(lambda s: s.at < now + hour_and_half, live_sightings(plan.fleet, now)))
    assert len(live) > 200
    assert min(s.at for s in live if s.vehicle.plate == TAXI_PLATE) <= now + timedelta(seconds=60)
    store_sightings(session, live, images, now + hour_and_half)
    restart = now + hour_and_half + timedelta(minutes=5)
    resumed = resume_fleet(session, ZONE, restart, scale=0.3)
    assert {v.plate for v in resumed.vehicles} == {v.plate for v in plan.fleet.vehicles}
    after = list(takewhile(lambda s: s.at < restart + hour_and_half, live_sightings(resumed, restart)))
    assert len(after) > 200
    store_sightings(session, after, images, restart + hour_and_half)

    clones = find_clones(session, plan.start, restart + hour_and_half)
    assert {item.plate for item in clones.items} == {plan.planted.clone_plate}
