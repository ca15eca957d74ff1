"""How long `checkpoint demo` takes to load its 7-day history at first start (target: 60 s).

    python -m bench.bench_demo_history --runs 2

Each run plans the fleet's week (who drives where, the planted cases) and COPYs it with its
images into a fresh database on CHECKPOINT_BENCH_DATABASE_URL's server (default: the test
server), then rolls back, so every run loads into the same empty tables. The reference is a
plain COPY of the same rows (no planning, no images) in the same run, to separate what the demo
adds from what the disk and PostgreSQL cost. Then each analysis is timed once on the last run's
history. Prints one JSON line; the machine's 1-minute load is in it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.scratch import ScratchDatabase
from checkpoint.core.config import Settings
from checkpoint.core.db import Database
from checkpoint.demo_history import PlateImages, captured, plan_history, store_history
from checkpoint.demo_planted import PlantedCases
from checkpoint.passes.partitions import ensure_day_partitions
from checkpoint.passes.store import copy_rows, insert_copy_text
from checkpoint.runtime import prepare_database
from checkpoint.sites.models import Checkpoint
from checkpoint.trajectory.analyses.clones import find_clones
from checkpoint.trajectory.analyses.first_entry import first_entries
from checkpoint.trajectory.analyses.frequent import frequent_passing
from checkpoint.trajectory.analyses.population import night_active
from checkpoint.trajectory.analyses.targeted import PlaceWindow, area_collision, companions, resting_places

ADMIN_URL = os.environ.get("CHECKPOINT_BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
ZONE = ZoneInfo("Asia/Shanghai")


def one_load(session: Session, data_dir: Path, now: datetime) -> dict[str, float]:
    """Plan, store (images included), then COPY the same rows again without the demo's work, as the reference."""
    started = time.perf_counter()
    plan = plan_history(session, now, ZONE)
    planned = time.perf_counter()
    images = PlateImages(data_dir)
    stored = store_history(session, plan, images)
    loaded = time.perf_counter()
    session.rollback()
    images.render_missing()
    drawn = time.perf_counter()
    sites = {cp.id: cp for cp in session.scalars(select(Checkpoint))}
    positions = {cp.id: (cp.lat, cp.lon) for cp in sites.values()}
    no_images = PlateImages(data_dir)
    no_images.font = None  # the reference stores no images
    rng = random.Random(1)
    rows = [captured(s, sites[s.checkpoint_id], no_images, rng) for s in plan.sightings]
    data = copy_rows(rows, positions, now)
    ensure_day_partitions(session.connection(), plan.start.date(), now.date())
    copy_started = time.perf_counter()
    insert_copy_text(session.connection().connection.dbapi_connection, data, len(rows))
    copied = time.perf_counter() - copy_started
    session.rollback()
    return {"passes": float(stored or 0), "plan_s": planned - started, "store_s": loaded - planned,
            "total_s": loaded - started, "images_after_s": drawn - loaded,
            "reference_copy_s": copied}


def analyses(session: Session, cases: PlantedCases, start: datetime, end: datetime) -> dict[str, float]:
    timings: dict[str, float] = {}

    def timed(name: str, run: object) -> None:
        began = time.perf_counter()
        run()  # type: ignore[operator]
        timings[name] = round(time.perf_counter() - began, 2)

    day = cases.days[-1]
    last_day = datetime(day.year, day.month, day.day, tzinfo=ZONE)
    timed("clones", lambda: find_clones(session, start, end))
    timed("first_entry", lambda: first_entries(session, last_day, last_day + timedelta(days=1)))
    timed("night_active", lambda: night_active(session, start, end, timezone=ZONE.key))
    timed("frequent", lambda: frequent_passing(session, last_day, last_day + timedelta(days=1)))
    timed("companions", lambda: companions(session, cases.companion_target, start, end))
    timed("resting", lambda: resting_places(session, cases.resting_plate, start, end))
    timed("collision", lambda: area_collision(session, [PlaceWindow(s.start, s.end, checkpoints=[str(s.checkpoint_id)])
                                                        for s in cases.collision_scenes]))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    scratch = ScratchDatabase.create(ADMIN_URL, "checkpoint_bench_demo")
    data_dir = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    try:
        engine = Database.configure(scratch.url)
        prepare_database(Settings(database_url=scratch.url, data_dir=data_dir), engine)
        now = datetime.now(UTC).replace(microsecond=0)
        runs: list[dict[str, float]] = []
        load_before = os.getloadavg()[0]
        with Session(engine) as session:
            for _ in range(args.runs):
                runs.append(one_load(session, data_dir / f"run{len(runs)}", now))
            plan = plan_history(session, now, ZONE)
            store_history(session, plan, PlateImages(data_dir / "kept"))
            timings = analyses(session, plan.planted, plan.start, now)
            session.rollback()
        print(json.dumps({"bench": "demo_history", "load_avg_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                          "runs": [{k: round(v, 1) for k, v in run.items()} for run in runs],
                          "best_total_s": round(min(r["total_s"] for r in runs), 1),
                          "analyses_s": timings}))
    finally:
        Database.dispose()
        scratch.drop()


if __name__ == "__main__":
    main()
