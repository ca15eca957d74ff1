"""Trajectory and analysis speed, and the analyses' recall and precision on planted cases.

Runs on the database `bench.traffic` filled (its truth file names the planted plates).
Prints one JSON line. `--summarise` first runs the summary job over the month (timed, as the
trajectory worker would, day by day); the month-wide analyses then read the summaries.
`--raw` also times clones, night-active, first entry and frequent (all checkpoints) on the raw
passes, the reference the summaries are measured against, and checks both give one answer.

    python -m bench.traffic --days 30 --passes-per-day 400000 --truth var/traffic-truth.json
    python -m bench.bench_trajectory --truth var/traffic-truth.json --summarise --raw
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.traffic_db import bench_engine
from checkpoint.trajectory.analyses import clones, first_entry, frequent, population, targeted
from checkpoint.trajectory.roads import road_network
from checkpoint.trajectory.service import build_trajectory
from checkpoint.trajectory.summaries import summarise, summarise_day

T = TypeVar("T")
TIMEZONE = "Asia/Shanghai"


def timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def progress(report: dict[str, Any]) -> None:
    """The figures so far, on stderr: a slow analysis should not hide the others."""
    print(json.dumps(report, ensure_ascii=False), file=sys.stderr, flush=True)


def quality(found: set[str], planted: set[str]) -> dict[str, float | int]:
    hits = len(found & planted)
    return {"planted": len(planted), "found": len(found), "true_positives": hits,
            "recall": round(hits / len(planted), 4) if planted else 1.0,
            "precision": round(hits / len(found), 4) if found else 1.0}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ms_summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2), "p95_ms": round(percentile(ms, 0.95), 2),
            "max_ms": round(max(ms), 2)}


def raw_reference(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The month-wide analyses on the raw passes: their time, and whether they answer as the summaries do."""
    report: dict[str, Any] = {"window": [start.isoformat(), end.isoformat()]}
    first_from = end - timedelta(days=1) if (end - start) >= timedelta(days=2) else end - timedelta(hours=12)
    pairs: list[tuple[str, Callable[[bool], object]]] = [
        ("clones", lambda summaries: clones.find_clones(session, start, end, limit=100_000,
                                                        timezone=TIMEZONE if summaries else None)),
        ("night_active", lambda summaries: population.night_active(
            session, start, end, timezone=TIMEZONE, min_share=0.8, min_days=5, limit=100_000,
            use_summaries=summaries)),
        ("first_entry", lambda summaries: first_entry.first_entries(
            session, first_from, end, lookback_days=29, timezone=TIMEZONE if summaries else None)),
        ("frequent_all", lambda summaries: frequent.frequent_passing(
            session, start, end, min_passes=40, timezone=TIMEZONE if summaries else None))]
    for name, run in pairs:
        raw_found, seconds = timed(lambda run=run: run(False))  # type: ignore[misc]
        report[name] = {"s": round(seconds, 2), "same": raw_found == run(True)}
        progress(report)
    return report


def companion_quality(session: Session, truth: dict[str, Any], start: datetime, end: datetime) -> dict[str, Any]:
    """Companions of every planted target at the route's defaults (timed, with recall and precision); then,
    untimed, every plate met 3+ times whatever its rate, to compare the count-only thresholds and show how
    far apart the planted followers' companion rates are from the others'."""
    found, every, seconds_each = set[str](), list[tuple[str, int, float]](), []
    for target in truth["companions"]:
        result, seconds = timed(lambda target=target: targeted.companions(  # type: ignore[misc]
            session, target, start, end, window_s=60))
        seconds_each.append(seconds)
        found |= {f"{target}>{c.plate}" for c in result.items}
        loose = targeted.companions(session, target, start, end, window_s=60, min_times=3, min_rate=0, limit=5000)
        every += [(f"{target}>{c.plate}", c.times, c.rate) for c in loose.items]
    planted = {f"{t}>{f}" for t, f in truth["companions"].items()}
    others = [rate for pair, _, rate in every if pair not in planted]
    return ms_summary(seconds_each) | quality(found, planted) | {
        "defaults": {"window_s": 60, "min_times": 3, "min_rate": targeted.DEFAULT_MIN_RATE},
        "count_only_min_times_10": quality({pair for pair, times, _ in every if times >= 10}, planted),
        "count_only_min_times_20": quality({pair for pair, times, _ in every if times >= 20}, planted),
        "planted_rate_min": min((rate for pair, _, rate in every if pair in planted), default=None),
        "other_rate_max": max(others, default=None), "other_pairs_3_times": len(others),
        "other_pairs_rate_0_1_plus": sum(rate >= 0.1 for rate in others),
        "other_pairs_rate_0_2_plus": sum(rate >= 0.2 for rate in others)}


def partial_days(session: Session, start: datetime, end: datetime) -> dict[str, float]:
    """The month-wide analyses over a window that starts and ends at local noon: 2 x 12 h read raw,
    as a live query over 'the last 30 days' reads the current day (seconds)."""
    runs: dict[str, Callable[[], object]] = {
        "clones": lambda: clones.find_clones(session, start, end, timezone=TIMEZONE),
        "night_active": lambda: population.night_active(session, start, end, timezone=TIMEZONE),
        "frequent_all": lambda: frequent.frequent_passing(session, start, end, min_passes=40, timezone=TIMEZONE),
        "first_entry_last_12h": lambda: first_entry.first_entries(session, end - timedelta(hours=12), end,
                                                                 lookback_days=29, timezone=TIMEZONE)}
    return {name: round(timed(run)[1], 2) for name, run in runs.items()}


def live_window(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """A live "last 30 days": the load's last day plays today, in a savepoint rolled back after. At 23:20,
    from noon on the first day: today not summarised (the job's whole days only: 23 h raw), today
    summarised up to 23:00 by the hourly job (20 min raw), and the same from the first local midnight
    (a window of calendar days). Then at 00:20, from 00:20 on the first day: no hour of today closed
    yet, and the first day cut 20 minutes in (the most a cut day holds). Seconds."""
    zone = ZoneInfo(TIMEZONE)
    today = (end - timedelta(seconds=1)).astimezone(zone).date()
    now, closed = end - timedelta(minutes=40), end - timedelta(hours=1)
    report: dict[str, Any] = {}
    nested = session.begin_nested()
    try:
        session.execute(text("DELETE FROM trajectory_summary_day WHERE day = :day"), {"day": today})
        report["today_raw"] = partial_days(session, start, now)
        _, report["hourly_job_s"] = timed(lambda: summarise_day(session, today, TIMEZONE, until=closed))
        report["today_summarised"] = partial_days(session, start, now)
        midnight = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        report["calendar_days"] = partial_days(session, midnight, now)
        session.execute(text("DELETE FROM trajectory_summary_day WHERE day = :day"), {"day": today})
        today_start = end - timedelta(days=1)  # 00:20 today, no hour of it closed: its first day cut at 00:20
        report["after_midnight"] = partial_days(session, midnight + timedelta(minutes=20),
                                                today_start + timedelta(minutes=20))
    finally:
        nested.rollback()
    return report


def bench(session: Session, truth: dict[str, Any], samples: int, *, summarised: bool = False,
          raw: bool = False, raw_cut: bool = False) -> dict[str, Any]:
    start, end = datetime.fromisoformat(truth["start"]), datetime.fromisoformat(truth["end"])
    summary_s = None
    if summarised:  # the worker's job over the whole month, as after a fresh load
        _, summary_s = timed(lambda: summarise(session, TIMEZONE, days_back=truth["days"] + 1,
                                               now=end + timedelta(hours=1)))
    rng = random.Random(1)
    road_network(session).route(*sorted(road_network(session).checkpoints)[:2])  # load the graph once
    report: dict[str, Any] = {"rows": session.scalar(text("SELECT count(*) FROM pass WHERE captured_at >= :s "
                                                         "AND captured_at < :e"), {"s": start, "e": end}),
                              "days": truth["days"]}
    if summary_s is not None:
        report["summarise_s"] = round(summary_s, 1)

    plates = rng.sample(truth["commuters"], samples)
    for plate in plates[:20]:  # warm the route cache and the buffer pool as a working server would be
        build_trajectory(session, plate, start, end)
    times, passes = [], []
    for plate in plates:
        trajectory, seconds = timed(lambda plate=plate: build_trajectory(session, plate, start, end))  # type: ignore[misc]
        times.append(seconds)
        passes.append(trajectory.pass_count)
    report["trajectory_30d"] = ms_summary(times) | {"passes_median": statistics.median(passes)}
    progress(report)

    found_clones, seconds = timed(lambda: clones.find_clones(session, start, end, limit=100_000, timezone=TIMEZONE))
    report["clones"] = {"s": round(seconds, 2)} | quality({c.plate for c in found_clones.items}, set(truth["clones"]))
    _, seconds = timed(lambda: clones.find_clones(session, start, end, timezone=TIMEZONE))  # the API's page: 500
    report["clones"]["s_first_500"] = round(seconds, 2)
    progress(report)

    night, seconds = timed(lambda: population.night_active(session, start, end, timezone=TIMEZONE,
                                                           min_share=0.8, min_days=5, limit=100_000))
    report["night_active"] = {"s": round(seconds, 2)} | quality({n.plate for n in night.items}, set(truth["night"]))
    progress(report)
    report["companions"] = companion_quality(session, truth, start, end)
    progress(report)

    last_day = end - timedelta(days=1)
    first, seconds = timed(lambda: first_entry.first_entries(session, last_day, end, lookback_days=29,
                                                            timezone=TIMEZONE))
    report["first_entry_last_day_lookback_29d"] = {"s": round(seconds, 2), "total": first.total}
    progress(report)
    frequent_all, seconds = timed(lambda: frequent.frequent_passing(session, start, end, min_passes=40,
                                                                    timezone=TIMEZONE))
    report["frequent_30d_all_checkpoints"] = {"s": round(seconds, 2), "total": frequent_all.total}
    progress(report)
    one = session.scalar(text("SELECT code FROM checkpoint ORDER BY code LIMIT 1 OFFSET 3"))
    frequent_one, seconds = timed(lambda: frequent.frequent_passing(session, start, end, min_passes=20,
                                                                    checkpoints=[str(one)]))
    report["frequent_30d_one_checkpoint"] = {"s": round(seconds, 2), "total": frequent_one.total}
    progress(report)

    resting_times = [timed(lambda plate=plate: targeted.resting_places(session, plate, start, end))[1]  # type: ignore[misc]
                     for plate in plates[:50]]
    report["resting_places_30d"] = ms_summary(resting_times)
    progress(report)

    districts = list(session.scalars(text("SELECT code FROM area WHERE kind = 'district' ORDER BY code")))
    codes = list(session.scalars(text("SELECT code FROM checkpoint ORDER BY code LIMIT 5")))
    day = start + timedelta(days=7)
    windows = [targeted.PlaceWindow(day, day + timedelta(hours=4), area=districts[0]),
               targeted.PlaceWindow(day + timedelta(days=1), day + timedelta(days=1, hours=10), area=districts[1]),
               targeted.PlaceWindow(start, end, checkpoints=codes)]
    collision, seconds = timed(lambda: targeted.area_collision(session, windows))
    report["area_collision_3_pairs"] = {"s": round(seconds, 2), "total": collision.total}
    progress(report)
    report["partial_days"] = partial_days(session, start + timedelta(hours=12), end - timedelta(hours=12))
    progress(report)
    report["live_window"] = live_window(session, start + timedelta(hours=12), end)
    progress(report)
    if raw:  # last: at this size each raw scan takes minutes
        report["raw_reference"] = raw_reference(session, start, end)
    if raw_cut:  # the window cut at noon at both ends: the summaries' cut-day paths against the raw passes
        report["raw_reference_cut"] = raw_reference(session, start + timedelta(hours=12), end - timedelta(hours=12))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--truth", type=Path, default=Path("var/traffic-truth.json"))
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--summarise", action="store_true", help="run the summary job over the month first")
    parser.add_argument("--raw", action="store_true", help="also time the raw-pass reference of each summary")
    parser.add_argument("--raw-cut", action="store_true",
                        help="the same over the window cut at noon at both ends (the summaries' cut-day paths)")
    args = parser.parse_args()
    truth = json.loads(args.truth.read_text())
    engine = bench_engine()
    with Session(engine) as session:
        session.execute(text("SET statement_timeout = '600s'"))
        print(json.dumps(bench(session, truth, args.samples, summarised=args.summarise, raw=args.raw,
                               raw_cut=args.raw_cut),
                         ensure_ascii=False))


if __name__ == "__main__":
    main()
