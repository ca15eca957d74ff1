"""过车查询 speed on the benchmark database, through the real HTTP routes (auth, audit row and all).

Runs on the database `bench.traffic` filled (its truth file gives the window):

    python -m bench.traffic --days 8 --passes-per-day 2000000 --truth var/truth-i16search.json
    python -m bench.bench_pass_search --truth var/truth-i16search.json --time-ordered-day 3

Cases and the issue's targets: one checkpoint over one day, page 1 and count (p95 ≤ 1 s); a wildcard
plate pattern over 7 days and the whole network (p95 ≤ 3 s); a CSV export of 100,000 rows read to
the end (≤ 10 s). Also a wildcard with only the last four characters known (粤L*2345: no start to
narrow the plate index, so the window is scanned), exact and fuzzy plates over 7 days, and a
checkpoint-day with a vehicle filter or sorted by plate on page 5.
Prints one JSON line; each figure's ratio to its target where the issue gives one.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.traffic_db import BENCH_DB, bench_engine
from checkpoint.core import login_sessions, users
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import Database
from checkpoint.core.models import User
from checkpoint.main import create_app
from checkpoint.passes.partitions import partition_name
from checkpoint.sites.models import Checkpoint

URL = "/api/v1/passes/search"
REASON = "benchmark 过车查询"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(seconds: list[float], target_s: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(seconds), "p50_s": round(percentile(seconds, 0.5), 3),
                           "p95_s": round(percentile(seconds, 0.95), 3), "max_s": round(max(seconds), 3)}
    if target_s is not None:
        out |= {"target_p95_s": target_s, "p95_over_target": round(out["p95_s"] / target_s, 3)}
    return out


def investigator_token(session: Session, settings: Settings) -> str:
    user = session.scalar(select(User).where(User.username == "bench_investigator"))
    if user is None:
        user = users.create(session, username="bench_investigator", password="bench-only-password-1",
                            roles=["investigator"])
        session.commit()
    token, _ = login_sessions.open_session(session, user, settings.resolved_secret_key(), 3600)  # a real login
    session.commit()
    return token


def timed_get(client: TestClient, headers: dict[str, str], params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.get(URL, params={"reason": REASON, **params}, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed, response.json()


def wildcard_patterns(rng: random.Random, plates: list[str], count: int) -> list[str]:
    """Patterns an investigator types from a partial sighting: one unknown character inside the plate
    (粤L?2345), or the head known and the rest open (粤LA23*)."""
    patterns = []
    for plate in rng.sample(plates, count):
        if rng.random() < 0.5:
            hole = rng.randrange(2, len(plate))
            patterns.append(plate[:hole] + "?" + plate[hole + 1:])
        else:
            patterns.append(plate[:5] + "*")
    return patterns


def run(client: TestClient, headers: dict[str, str], session: Session, truth: dict[str, Any], samples: int,
        seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    start = datetime.fromisoformat(truth["start"])
    days = int(truth["days"])
    codes = list(session.scalars(select(Checkpoint.code).order_by(Checkpoint.code)))
    week = {"start": start.isoformat(), "end": (start + timedelta(days=min(days, 7))).isoformat()}

    def day_window() -> dict[str, str]:
        day = start + timedelta(days=rng.randrange(days))
        return {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}

    report: dict[str, Any] = {"checkpoints": len(codes), "days_loaded": days}
    with Database.engine.connect() as conn:  # type: ignore[union-attr]
        report["rows_in_window"] = conn.execute(text(
            "SELECT count(*) FROM pass WHERE captured_at >= :s AND captured_at < :e"),
            {"s": start, "e": start + timedelta(days=days)}).scalar_one()
        seen = [row[0] for row in conn.execute(text(
            "SELECT plate FROM pass WHERE captured_at >= :s AND captured_at < :e LIMIT 20000"),
            {"s": start + timedelta(hours=30), "e": start + timedelta(hours=31)})]
    plates = sorted({plate for plate in seen if len(plate) == 7 and plate[0] == "粤"})

    def case(name: str, make: Callable[[], dict[str, Any]], target: float | None = None) -> None:
        times, totals = [], []
        for _ in range(samples):
            elapsed, body = timed_get(client, headers, make())
            times.append(elapsed)
            totals.append(body["total"])
        report[name] = summary(times, target) | {"hits_median": sorted(totals)[len(totals) // 2],
                                                 "hits_max": max(totals)}
        print(json.dumps({name: report[name]}, ensure_ascii=False), flush=True)

    case("checkpoint_day", lambda: {**day_window(), "checkpoint": rng.choice(codes)}, 1.0)
    case("checkpoint_day_page_5_plate_sort", lambda: {**day_window(), "checkpoint": rng.choice(codes),
                                                      "sort": "plate", "page": 5}, 1.0)
    case("checkpoint_day_white_suv", lambda: {**day_window(), "checkpoint": rng.choice(codes),
                                              "vehicle_colour": "white", "vehicle_type": "suv"}, 1.0)
    patterns = iter(wildcard_patterns(rng, plates, samples))
    case("wildcard_7_days_network", lambda: {**week, "plate": next(patterns), "plate_mode": "wildcard"}, 3.0)
    tails = iter(["粤L*" + plate[-4:] for plate in rng.sample(plates, samples)])
    case("wildcard_7_days_network_tail_only", lambda: {**week, "plate": next(tails), "plate_mode": "wildcard"}, 3.0)
    case("exact_7_days_network", lambda: {**week, "plate": rng.choice(plates)})
    case("fuzzy_7_days_network", lambda: {**week, "plate": rng.choice(plates), "plate_mode": "fuzzy"})
    report["export_100k"] = export(client, headers, day_window())
    return report


def time_ordered_day(session: Session, truth: dict[str, Any], offset: int) -> dict[str, str]:
    """A local day of the load whose partitions are rewritten in captured_at order, as live passes lie
    on disk (the writer appends them as they come; this load wrote each vehicle's day at once, so
    its heap order correlates with time only 0.2-0.4). Returns that day's window."""
    start = datetime.fromisoformat(truth["start"]) + timedelta(days=offset)
    end = start + timedelta(days=1)
    for day in sorted({start.date(), (end - timedelta(microseconds=1)).date()}):
        name = partition_name(day)
        session.execute(text(f'CLUSTER "{name}" USING "{name}_captured_at_idx"'))
        session.execute(text(f'ANALYZE "{name}"'))
    session.commit()
    return {"start": start.isoformat(), "end": end.isoformat()}


def export(client: TestClient, headers: dict[str, str], window: dict[str, str],
           target_s: float = 10.0) -> dict[str, Any]:
    """One network-wide day (about 2 M passes) exported, newest first: the first 100,000 rows, read to the end."""
    started = time.perf_counter()
    first_byte: float | None = None
    size = rows = 0
    with client.stream("GET", f"{URL}/export", params={"reason": REASON, **window}, headers=headers) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_bytes():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    out = {"rows": rows - 1, "bytes": size, "first_byte_s": round(first_byte or 0.0, 3), "total_s": round(elapsed, 3),
           "target_s": target_s, "over_target": round(elapsed / target_s, 3)}
    print(json.dumps({"export_100k": out}), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--truth", type=Path, default=Path("var/traffic-truth.json"))
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--time-ordered-day", type=int, metavar="N",
                        help="also export from day N of the load after rewriting its partitions in time order")
    args = parser.parse_args()
    truth = json.loads(args.truth.read_text())
    bench_engine()
    settings = Settings(database_url=BENCH_DB, redis_url="redis://127.0.0.1:6379/14",
                        secret_key="bench-only-not-secret-but-long-enough",
                        data_dir=Path(tempfile.mkdtemp(prefix="checkpoint-bench-")))
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    assert Database.sessions is not None
    with Database.sessions() as session, TestClient(app) as client:
        headers = {"Authorization": f"Bearer {investigator_token(session, settings)}"}
        report = run(client, headers, session, truth, args.samples, args.seed)
        if args.time_ordered_day is not None:
            window = time_ordered_day(session, truth, args.time_ordered_day)
            report["export_100k_time_ordered_day"] = export(client, headers, window)
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
