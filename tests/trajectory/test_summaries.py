"""Summaries of closed days give the analyses exactly the answers of a scan of the raw passes."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text as sa_text
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.settings_groups import RetentionSettings
from checkpoint.sites.models import Checkpoint
from checkpoint.trajectory.analyses.clones import find_clones
from checkpoint.trajectory.analyses.first_entry import first_entries
from checkpoint.trajectory.analyses.frequent import frequent_passing
from checkpoint.trajectory.analyses.population import night_active
from checkpoint.trajectory.roads import road_network
from checkpoint.trajectory.summaries import (
    PLATE_INDEX,
    days_to_summarise,
    rebuild_frequent,
    rebuild_plate_index,
    split_window,
    summarise,
    summarise_day,
)
from checkpoint.trajectory.today import last_closed_hour, summarise_today
from checkpoint.trajectory.worker import summary_loop
from tests.trajectory.conftest import AddPass, random_plate

TZ = "Asia/Shanghai"
DAYS = 5


@pytest.fixture
def local_midnight(quiet_day: datetime) -> datetime:
    """Local (UTC+8) midnight starting the quiet day's date: summaries count local days."""
    return quiet_day - timedelta(hours=8)


def make_traffic(add_pass: AddPass, session: Session, checkpoints: list[Checkpoint], midnight: datetime,
                 seed: int) -> dict[str, str]:
    """Random drivers over DAYS local days, with clones, a repainted car, night drivers and regulars."""
    rng = random.Random(seed)
    network = road_network(session)
    ids = sorted(network.checkpoints)
    far_a, far_b = max(((a, b) for a in ids[:10] for b in ids[-10:]), key=lambda ab: network.distance_m(*ab))
    plates = {name: random_plate() for name in ("clone", "midnight_clone", "repainted", "night", "regular")}
    for _ in range(25):  # drivers: hops a few minutes apart, some far apart (accidental suspects are fine)
        plate = random_plate()
        at = midnight + timedelta(hours=rng.uniform(0, 24 * DAYS))
        for _ in range(rng.randint(2, 8)):
            add_pass(plate, at, rng.choice(checkpoints[:40]).id)
            at += timedelta(minutes=rng.uniform(1, 300))
    for day in range(DAYS):
        noon = midnight + timedelta(days=day, hours=12)
        add_pass(plates["clone"], noon, far_a)
        add_pass(plates["clone"], noon + timedelta(minutes=4), far_b)
        add_pass(plates["repainted"], noon, far_a, colour="blue")
        add_pass(plates["repainted"], noon + timedelta(seconds=90), far_a, colour="yellow", kind="large")
        for hour in (23, 26, 27) if day < DAYS - 1 else (23,):  # 23:00, then 02:00 and 03:00 the next day
            add_pass(plates["night"], midnight + timedelta(days=day, hours=hour, minutes=day), ids[day])
        add_pass(plates["night"], noon, ids[0]) if day == 2 else None
        for hour in (8, 13, 18):
            add_pass(plates["regular"], midnight + timedelta(days=day, hours=hour), ids[5])
    last_evening = midnight + timedelta(days=1, hours=23, minutes=58)  # a pair across local midnight
    add_pass(plates["midnight_clone"], last_evening, far_a)
    add_pass(plates["midnight_clone"], last_evening + timedelta(minutes=5), far_b)
    return plates


def answers(session: Session, start: datetime, end: datetime, timezone: str | None) -> dict[str, Any]:
    """Every summarised analysis, as comparable values; timezone None reads only raw passes."""
    clones = find_clones(session, start, end, timezone=timezone)
    night = night_active(session, start, end, timezone=TZ, min_share=0.5, min_days=1,
                         use_summaries=timezone is not None)
    frequent = {n: frequent_passing(session, start, end, min_passes=n, timezone=timezone) for n in (2, 3, 5)}
    first = first_entries(session, end - timedelta(hours=30), end, lookback_days=3, timezone=timezone)
    return {
        "first_entry": (first.total, [f.model_dump() for f in first.items]),
        "clones": (clones.total, [(c.plate, c.kind, c.first.id, c.second.id, c.duration_s) for c in clones.items]),
        "night": (night.total, [n.model_dump() for n in night.items]),
        "frequent": {n: (f.total, sorted((i.plate, i.checkpoint_id, i.passes, i.first_at, i.last_at)
                                         for i in f.items)) for n, f in frequent.items()},
    }


def summarise_days(session: Session, days: list[date]) -> None:
    for day in days:
        summarise_day(session, day, TZ)
    rebuild_frequent(session, TZ)


WINDOWS = [(0.0, DAYS), (0.5, DAYS - 0.25), (1.25, 3.75), (1.0, 3.0)]  # in days from local midnight


def test_summarised_days_give_the_raw_answers(add_pass: AddPass, session: Session, checkpoints: list[Checkpoint],
                                              local_midnight: datetime) -> None:
    plates = make_traffic(add_pass, session, checkpoints, local_midnight, seed=8)
    first = local_midnight.date() + timedelta(days=1)  # the local date of local_midnight + 8 h
    windows = [(local_midnight + timedelta(days=a), local_midnight + timedelta(days=b)) for a, b in WINDOWS]
    raw = [answers(session, start, end, None) for start, end in windows]
    assert {plates["clone"], plates["midnight_clone"], plates["repainted"]} <= {
        c[0] for c in raw[0]["clones"][1]}
    assert plates["night"] in {n["plate"] for n in raw[0]["night"][1]}
    assert raw[0]["first_entry"][0] > 0
    assert (plates["regular"], 15) in {(p, n) for p, _, n, _, _ in raw[0]["frequent"][5][1]}

    summarise_days(session, [first + timedelta(days=d) for d in (1, 3)])  # a raw day between cut days
    for (start, end), expected in zip(windows, raw, strict=True):
        assert answers(session, start, end, TZ) == expected, (start, end)

    summarise_days(session, [first + timedelta(days=d) for d in (1, 2, 3)])  # days 0 and 4 stay raw
    split = split_window(session, *windows[0], TZ)
    assert split.days == [first + timedelta(days=d) for d in (1, 2, 3)] and len(split.raw) == 2
    for (start, end), expected in zip(windows, raw, strict=True):
        assert answers(session, start, end, TZ) == expected, (start, end)

    summarise_days(session, [first + timedelta(days=d) for d in range(DAYS)])  # every day, some again
    assert split_window(session, *windows[0], TZ).raw == []
    for (start, end), expected in zip(windows, raw, strict=True):
        assert answers(session, start, end, TZ) == expected, (start, end)


def test_a_changed_day_is_found_and_resummarised(add_pass: AddPass, session: Session,
                                                checkpoints: list[Checkpoint], local_midnight: datetime) -> None:
    plates = make_traffic(add_pass, session, checkpoints, local_midnight, seed=9)
    first = local_midnight.date() + timedelta(days=1)
    start, end = local_midnight, local_midnight + timedelta(days=DAYS)
    now = end + timedelta(hours=2)
    done = summarise(session, TZ, days_back=DAYS, now=now)
    assert done == [first + timedelta(days=d) for d in range(DAYS)]
    assert days_to_summarise(session, TZ, now, DAYS) == []
    assert summarise(session, TZ, days_back=DAYS, now=now) == []  # nothing changed: nothing to do

    late = local_midnight + timedelta(days=2, hours=12, minutes=2)  # an upload for a summarised day
    add_pass(plates["regular"], late, checkpoints[5].id)
    add_pass(plates["regular"], late + timedelta(minutes=1), checkpoints[90].id, colour="yellow")
    assert days_to_summarise(session, TZ, now, DAYS) == [first + timedelta(days=2)]
    stale = answers(session, start, end, TZ)
    raw = answers(session, start, end, None)
    assert stale != raw
    assert summarise(session, TZ, days_back=DAYS, now=now) == [first + timedelta(days=2)]
    assert answers(session, start, end, TZ) == raw


def test_todays_closed_hours_give_the_raw_answers(add_pass: AddPass, session: Session,
                                                  checkpoints: list[Checkpoint], local_midnight: datetime) -> None:
    """A live window (ending now, today's hours summarised up to the last closed one) equals a raw scan."""
    make_traffic(add_pass, session, checkpoints, local_midnight, seed=10)
    today = local_midnight.date() + timedelta(days=DAYS)  # the local date of the last day of traffic
    now = local_midnight + timedelta(days=DAYS - 1, hours=15, minutes=40)
    closed = [today - timedelta(days=d) for d in range(DAYS - 1, 0, -1)]
    assert summarise(session, TZ, days_back=DAYS - 1, now=now) == closed
    assert summarise_today(session, TZ, now) == local_midnight + timedelta(days=DAYS - 1, hours=15)
    assert summarise_today(session, TZ, now + timedelta(minutes=10)) is None  # no new hour has closed
    windows = [(local_midnight + timedelta(days=a), now) for a in (0.0, 0.5, 1.0, DAYS - 1)]
    split = split_window(session, *windows[1], TZ, frequent=True)
    assert split.partial == [today] and split.days[-1] == today and len(split.whole) == DAYS - 2
    assert split.raw == [(windows[1][0], local_midnight + timedelta(days=1)), (now - timedelta(minutes=40), now)]
    for start, end in windows:
        assert answers(session, start, end, TZ) == answers(session, start, end, None), (start, end)

    late = now - timedelta(hours=3)  # uploaded late into a summarised hour: counted at the next hour
    add_pass(random_plate(), late, checkpoints[3].id)
    twice = random_plate()
    add_pass(twice, late, checkpoints[4].id)
    add_pass(twice, late + timedelta(minutes=2), checkpoints[4].id)
    assert summarise_today(session, TZ, now + timedelta(hours=1)) == local_midnight + timedelta(days=DAYS - 1,
                                                                                               hours=16)
    later = now + timedelta(hours=1)
    for start, _end in windows:
        assert answers(session, start, later, TZ) == answers(session, start, later, None), start

    tomorrow = local_midnight + timedelta(days=DAYS, hours=2)  # the day closed: summarised whole, counts rebuilt
    assert summarise(session, TZ, days_back=DAYS, now=tomorrow)[-1] == today
    assert session.execute(sa_text("SELECT covered_until, in_frequent FROM trajectory_summary_day WHERE day = :day"),
                           {"day": today}).one() == (None, True)
    assert session.scalar(sa_text("SELECT count(*) FROM trajectory_frequent_partial WHERE day = :day"),
                          {"day": today}) == 0
    end = local_midnight + timedelta(days=DAYS)
    assert answers(session, local_midnight, end, TZ) == answers(session, local_midnight, end, None)


def test_the_last_closed_hour_leaves_late_passes_time() -> None:
    zone = ZoneInfo(TZ)
    at = datetime(2026, 11, 26, 10, 14, tzinfo=zone)
    assert last_closed_hour(at, zone) == datetime(2026, 11, 26, 9, tzinfo=zone)
    assert last_closed_hour(at + timedelta(minutes=2), zone) == datetime(2026, 11, 26, 10, tzinfo=zone)


class OneRound(threading.Event):
    """Stops a worker loop after its first round."""

    def wait(self, timeout: float | None = None) -> bool:
        self.set()
        return True


def test_the_worker_summarises_yesterday(add_pass: AddPass, session: Session, checkpoints: list[Checkpoint]) -> None:
    zone = ZoneInfo(TZ)
    yesterday = datetime.now(zone).date() - timedelta(days=1)
    noon = datetime.combine(yesterday, time(12), tzinfo=zone).astimezone(UTC)
    plate = random_plate()
    for minutes in (0, 7, 30):
        add_pass(plate, noon + timedelta(minutes=minutes), checkpoints[minutes % 5].id)
    before = datetime.now(UTC)
    summary_loop(session.connection(), TZ, OneRound(), days_back=RetentionSettings().summary_days())
    after = datetime.now(UTC)
    row = session.execute(sa_text("SELECT passes FROM trajectory_plate_day WHERE day = :day AND plate = :plate"),
                          {"day": yesterday, "plate": plate}).one()
    assert row.passes == 3
    assert session.scalar(sa_text("SELECT in_frequent FROM trajectory_summary_day WHERE day = :day"),
                          {"day": yesterday}) is True
    today = after.astimezone(zone).date()  # and today up to its last closed hour, once one has closed
    until = session.scalar(sa_text("SELECT covered_until FROM trajectory_summary_day WHERE day = :day"),
                           {"day": today})
    closed = {last_closed_hour(at, zone) for at in (before, after)}
    midnight = datetime.combine(today, time(), tzinfo=zone)
    assert until in closed if max(closed) > midnight else until is None


def test_the_plate_day_index_is_rebuilt_compact(sessions: sessionmaker[Session]) -> None:
    """Days inserted one after the other split the (plate, day) index all over; the rebuild packs it again."""
    days = [date(2001, 1, 1) + timedelta(days=d) for d in range(6)]
    plates = sorted({random_plate() for _ in range(3000)})
    index_size = sa_text("SELECT pg_relation_size(CAST(:name AS regclass))")
    node = sa_text("SELECT relfilenode FROM pg_class WHERE relname = :name")
    with sessions() as session:
        try:
            for day in days:  # as the job does: a day's rows for every plate, then the next day
                session.execute(sa_text(
                    "INSERT INTO trajectory_plate_day (day, plate, passes, first_at, early_passes, early_night,"
                    " late_night) SELECT :day, plate, 1, :at, 0, 0, 0 FROM unnest(CAST(:plates AS text[])) plate"),
                    {"day": day, "at": datetime.combine(day, time(12), tzinfo=UTC), "plates": plates})
                session.commit()
            split_size = session.scalar(index_size, {"name": PLATE_INDEX})
            split_node = session.scalar(node, {"name": PLATE_INDEX})
            session.commit()
            assert rebuild_plate_index(session.get_bind().engine, min_bytes=2**40) is False  # small: left alone
            assert rebuild_plate_index(session.get_bind().engine, min_bytes=0) is True
            assert session.scalar(node, {"name": PLATE_INDEX}) != split_node
            assert session.scalar(index_size, {"name": PLATE_INDEX}) < 0.8 * split_size
            assert session.scalar(sa_text("SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid ="
                                          " CAST('trajectory_plate_day' AS regclass)")) is True
        finally:
            session.rollback()
            session.execute(sa_text("DELETE FROM trajectory_plate_day WHERE day < '2002-01-01'"))
            session.commit()


def test_first_entry_reads_days_its_window_cuts(add_pass: AddPass, session: Session, checkpoints: list[Checkpoint],
                                                local_midnight: datetime) -> None:
    """Summarised days cut by the lookback's start, the window's start or its end give the raw answer."""
    day = timedelta(days=1)
    start, end = local_midnight + 3 * day + timedelta(hours=9), local_midnight + 4 * day + timedelta(hours=15)
    lookback = start - 3 * day
    cases = {  # plate: passes, as offsets from the instant named
        "before_lookback_only": [lookback - timedelta(hours=2), start + timedelta(hours=1)],
        "across_lookback": [lookback - timedelta(hours=2), lookback + timedelta(hours=3), start + timedelta(hours=2)],
        "across_start": [start - timedelta(hours=1), start + timedelta(hours=3)],
        "after_start": [start + timedelta(minutes=5), start + timedelta(hours=8)],
        "before_start_and_later": [start - timedelta(hours=2), end - timedelta(hours=1)],
        "end_day_before_end": [end - timedelta(hours=2), end + timedelta(hours=2)],
        "end_day_after_end": [end + timedelta(hours=1)],
    }
    plates = {name: random_plate() for name in cases}
    for name, times in cases.items():
        for index, at in enumerate(times):
            add_pass(plates[name], at, checkpoints[index].id)
    raw = first_entries(session, start, end, lookback_days=3)
    expected = {plates[n] for n in ("before_lookback_only", "after_start", "end_day_before_end")}
    assert {item.plate for item in raw.items} == expected
    summarise_days(session, [local_midnight.date() + timedelta(days=d) for d in range(1, 7)])
    assert len(split_window(session, lookback, end, TZ).days) == 3  # and the cut days touch it
    assert first_entries(session, start, end, lookback_days=3, timezone=TZ) == raw
    assert first_entries(session, start + day, end, lookback_days=3, timezone=TZ) == first_entries(
        session, start + day, end, lookback_days=3)
