"""A month of synthetic Huizhou traffic in PostgreSQL, with planted cases for the analyses.

Vehicles drive between the real checkpoints at road-graph distances and plausible speeds
(25-70 km/h), so no honest vehicle ever looks cloned. Kinds: commuters (home to work and
back on weekdays, at times that vary day to day), taxis (many hops 06:00-24:00), through
traffic (enters at the city line, a few hops, leaves; new plates each day) and planted
cases: night-active vehicles, cloned plates (a second car with a commuter's plate in a far
district) and companions (a follower seen within 5-40 s of its target at most of its
checkpoints). The truth goes to a JSON file so the benchmark can measure recall and precision.

    python -m bench.traffic --days 30 --passes-per-day 300000 --truth var/traffic-truth.json

Never run in CI: it writes millions of rows (COPY, about 10^5 rows/s on two cores).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from bench.traffic_db import bench_engine
from checkpoint.passes.partitions import ensure_day_partitions, partition_name
from checkpoint.trajectory.roads import load_network

LOCAL_OFFSET = timedelta(hours=8)  # Asia/Shanghai has no daylight saving
DIGITS = "0123456789"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
COLUMNS = ("id", "captured_at", "plate", "plate_colour", "plate_type", "confidence", "checkpoint_id", "lane",
           "direction", "lat", "lon", "image_path", "received_at", "vehicle_colour", "vehicle_type")
# A vehicle keeps its colour and type (drawn from its plate, so every day's load agrees); 过车查询 filters on them.
VEHICLE_COLOURS = ("white",) * 5 + ("black",) * 3 + ("silver", "grey", "grey", "red", "blue", "yellow", "green")
VEHICLE_TYPES = ("car",) * 6 + ("suv",) * 3 + ("mpv", "van", "bus", "truck", "truck", "pickup")

THROUGH_BY_HOUR = [2, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 7, 6, 6, 7, 7, 7, 7, 6, 5, 4, 3, 3, 2]  # local hours
THROUGH_PREFIXES = ("粤A", "粤B", "粤S", "粤E", "湘A", "赣B", "闽D", "桂A")
TOP_UP_PREFIXES = ("苏E", "浙A", "沪A", "京A", "川A", "鄂A", "豫A", "皖A")  # never made by a month's load
Hop = tuple[int, float]  # (checkpoint id, seconds since local midnight)
PassRow = tuple[str, datetime, str, str, str, int]  # (id, captured_at, plate, colour, type, checkpoint)


@dataclass
class Sites:
    """Checkpoints, their positions, road distances and nearest neighbours by road."""

    ids: list[int]
    where: dict[int, tuple[float, float]]  # id -> (lat, lon)
    city_line: list[int]
    distance_m: dict[tuple[int, int], float]
    near: dict[int, list[int]] = field(default_factory=dict)

    def leg_s(self, rng: random.Random, a: int, b: int) -> float:
        """Seconds to drive from a to b at 25-70 km/h, at least 20 s."""
        return max(20.0, self.distance_m.get((a, b), 0.0) / (rng.uniform(25, 70) / 3.6))

    def route(self, rng: random.Random, start: int, goal: int, longest: int = 7) -> list[int]:
        """Checkpoints on the way from start to goal, hopping to the neighbour closest to the goal."""
        path = [start]
        while path[-1] != goal and len(path) < longest:
            step = min(self.near[path[-1]], key=lambda c: self.distance_m.get((c, goal), 0.0) + rng.random())
            if self.distance_m.get((step, goal), 0.0) >= self.distance_m.get((path[-1], goal), 0.0):
                break
            path.append(step)
        if path[-1] != goal:
            path.append(goal)
        return path

    def wander(self, rng: random.Random, start: int, hops: int) -> list[int]:
        path = [start]
        for _ in range(hops):
            path.append(rng.choice(self.near[path[-1]]))
        return path


def load_sites(engine: Engine) -> Sites:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        network = load_network(session)
        lines: dict[int, str] = {row.id: row.defence_line
                                 for row in session.execute(text("SELECT id, defence_line FROM checkpoint"))}
    ids = sorted(network.checkpoints)
    distance = {(a, b): network.distance_m(a, b) for a in ids for b in ids if a != b}
    sites = Sites(ids, {i: (network.checkpoints[i].lat, network.checkpoints[i].lon) for i in ids},
                  [i for i in ids if lines[i] == "city"], distance)
    sites.near = {a: sorted((b for b in ids if b != a), key=lambda b: distance[(a, b)])[:8] for a in ids}
    return sites


def drive(rng: random.Random, sites: Sites, path: list[int], depart_s: float) -> list[Hop]:
    hops = [(path[0], depart_s)]
    for a, b in zip(path, path[1:], strict=False):
        hops.append((b, hops[-1][1] + sites.leg_s(rng, a, b)))
    return hops


@dataclass
class Vehicle:
    plate: str
    kind: str
    colour: str = "blue"
    plate_type: str = "standard"
    home: int = 0
    work: int = 0
    to_work: list[int] = field(default_factory=list)

    def day(self, rng: random.Random, sites: Sites, weekday: int) -> list[Hop]:
        """This vehicle's passes on one local day, in seconds since local midnight."""
        if self.kind in ("commuter", "clone"):
            if weekday >= 5 or rng.random() < 0.08:
                if rng.random() < 0.3:
                    return drive(rng, sites, sites.wander(rng, self.home, rng.randint(2, 4)),
                                 rng.uniform(9, 20) * 3600)
                return []
            out = drive(rng, sites, self.to_work, rng.gauss(7.75, 0.5) * 3600)
            back = drive(rng, sites, self.to_work[::-1], rng.gauss(18.0, 0.75) * 3600)
            return out + back
        if self.kind == "taxi":
            hops: list[Hop] = []
            at, where = rng.uniform(6, 8) * 3600, rng.choice(sites.ids)
            while at < 23.5 * 3600:
                trip = drive(rng, sites, sites.wander(rng, where, rng.randint(1, 4)), at)
                hops += trip
                where, at = trip[-1][0], trip[-1][1] + rng.expovariate(1 / 1500)
            return hops
        if self.kind == "night":
            hops = []
            if rng.random() < 0.08:
                hops += drive(rng, sites, sites.wander(rng, self.home, 2), rng.uniform(10, 16) * 3600)
            if rng.random() < 0.75:
                at, where = rng.uniform(22.5, 25.0) * 3600, self.home  # from 22:30 to 01:00
                for _ in range(rng.randint(1, 2)):  # one trip after the other, each from where the last ended
                    trip = drive(rng, sites, sites.wander(rng, where, rng.randint(1, 3)), at)
                    hops += trip
                    at, where = trip[-1][1] + rng.uniform(0.5, 2) * 3600, trip[-1][0]
            return hops
        raise ValueError(self.kind)


class PlateMaker:
    """Unique plates: Huizhou (粤L) for residents, other prefixes for through traffic."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set[str]()

    def make(self, prefix: str = "粤L", green: bool = False) -> str:
        while True:
            body = self.rng.choice(LETTERS) + "".join(self.rng.choice(DIGITS + LETTERS[:8]) for _ in range(4))
            plate = prefix + ("D" + body[:1] + self.rng.choice(DIGITS) + body[1:] if green else body)
            if plate not in self.used:
                self.used.add(plate)
                return plate


@dataclass
class Fleet:
    vehicles: list[Vehicle]
    clones: dict[str, Vehicle]  # plate -> the second car using it
    companions: dict[str, str]  # target plate -> follower plate


def make_fleet(rng: random.Random, sites: Sites, plates: PlateMaker, passes_per_day: int) -> Fleet:
    """Fleet sized so that commuters give ~55% of the passes, taxis ~20%, through traffic ~25%."""
    n_commuters = max(50, int(passes_per_day * 0.55 / 7.0))
    n_taxis = max(10, int(passes_per_day * 0.20 / 45))
    vehicles: list[Vehicle] = []
    for _ in range(n_commuters):
        green = rng.random() < 0.1
        home = rng.choice(sites.ids)
        work = rng.choice([b for b in sites.near[home][:6]] + rng.sample(sites.ids, 2))
        if work == home:
            work = sites.near[home][0]
        vehicles.append(Vehicle(plates.make(green=green), "commuter", "green" if green else "blue",
                                "new_energy" if green else "standard", home, work, sites.route(rng, home, work)))
    vehicles += [Vehicle(plates.make(), "taxi", "blue", "standard") for _ in range(n_taxis)]
    planted = max(20, n_commuters // 1000)
    vehicles += [Vehicle(plates.make(), "night", home=rng.choice(sites.ids)) for _ in range(planted)]
    commuters = [v for v in vehicles if v.kind == "commuter"]
    clones: dict[str, Vehicle] = {}
    for original in rng.sample(commuters, planted):
        far = [c for c in sites.ids if sites.distance_m.get((original.home, c), 0.0) > 40_000] or sites.ids
        home = rng.choice(far)
        work = sites.near[home][rng.randint(0, 5)]
        colour, kind = ("yellow", "large") if rng.random() < 0.3 else (original.colour, original.plate_type)
        clones[original.plate] = Vehicle(original.plate, "clone", colour, kind, home, work,
                                         sites.route(rng, home, work))
    targets = rng.sample([v for v in commuters if v.plate not in clones], planted)
    companions = {target.plate: plates.make() for target in targets}
    return Fleet(vehicles, clones, companions)


def day_rows(rng: random.Random, sites: Sites, fleet: Fleet, plates: PlateMaker, day: date,
             through: int) -> Iterator[PassRow]:
    """(id, captured_at, plate, colour, type, checkpoint) of every pass on one local day."""
    midnight = local_midnight(day)
    weekday = day.weekday()

    def rows(plate: str, colour: str, kind: str, hops: list[Hop]) -> Iterator[PassRow]:
        return pass_rows(midnight, plate, colour, kind, hops)

    followers = fleet.companions
    for vehicle in fleet.vehicles:
        hops = vehicle.day(rng, sites, weekday)
        yield from rows(vehicle.plate, vehicle.colour, vehicle.plate_type, hops)
        if vehicle.plate in followers:
            offset = rng.choice((-1, 1)) * rng.uniform(5, 40)  # the follower keeps its distance all day
            shadow = [(c, s + offset + rng.uniform(-3, 3)) for c, s in hops if rng.random() < 0.7]
            yield from rows(followers[vehicle.plate], "blue", "standard", shadow)
        if (clone := fleet.clones.get(vehicle.plate)) is not None:
            yield from rows(clone.plate, clone.colour, clone.plate_type, clone.day(rng, sites, weekday))
    for _ in range(through):
        yield from through_vehicle(rng, sites, plates, midnight, THROUGH_PREFIXES)


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - LOCAL_OFFSET


def pass_rows(midnight: datetime, plate: str, colour: str, kind: str, hops: list[Hop]) -> Iterator[PassRow]:
    for checkpoint, second in hops:
        yield str(uuid.uuid4()), midnight + timedelta(seconds=second), plate, colour, kind, checkpoint


def through_vehicle(rng: random.Random, sites: Sites, plates: PlateMaker, midnight: datetime,
                    prefixes: tuple[str, ...]) -> Iterator[PassRow]:
    """One vehicle entering at the city line, crossing the city on a few hops and leaving it."""
    entry = rng.choice(sites.city_line)
    path = sites.route(rng, entry, rng.choice(sites.city_line), longest=6)
    hour = rng.choices(range(24), weights=THROUGH_BY_HOUR)[0]
    prefix = rng.choice(prefixes)
    lorry = rng.random() < 0.25
    yield from pass_rows(midnight, plates.make(prefix), "yellow" if lorry else "blue",
                         "large" if lorry else "standard", drive(rng, sites, path, hour * 3600 + rng.uniform(0, 3600)))


def copy_day(engine: Engine, sites: Sites, rows: Iterator[PassRow]) -> int:
    """COPY one day's rows into the pass table; returns the row count."""
    buffer, count = io.StringIO(), 0
    now = datetime.now(UTC).isoformat()
    for pass_id, at, plate, colour, kind, checkpoint in rows:
        lat, lon = sites.where[checkpoint]
        drawn = zlib.crc32(plate.encode())
        buffer.write(f"{pass_id}\t{at.isoformat()}\t{plate}\t{colour}\t{kind}\t0.95\t{checkpoint}\t1\tin\t"
                     f"{lat}\t{lon}\tsynthetic/{pass_id}.jpg\t{now}\t{VEHICLE_COLOURS[drawn % len(VEHICLE_COLOURS)]}\t"
                     f"{VEHICLE_TYPES[(drawn >> 8) % len(VEHICLE_TYPES)]}\n")
        count += 1
    buffer.seek(0)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.copy_expert(f"COPY pass ({', '.join(COLUMNS)}) FROM STDIN", buffer)  # psycopg2's COPY
        cursor.close()
        raw.commit()
    finally:
        raw.close()
    return count


def generate(engine: Engine, first_day: date, days: int, passes_per_day: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    sites = load_sites(engine)
    plates = PlateMaker(rng)
    fleet = make_fleet(rng, sites, plates, passes_per_day)
    with engine.begin() as conn:
        ensure_day_partitions(conn, first_day - timedelta(days=1), first_day + timedelta(days=days))
    through = int(passes_per_day * 0.25 / 3.5)
    total, started = 0, time.monotonic()
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        total += copy_day(engine, sites, day_rows(rng, sites, fleet, plates, day, through))
        print(json.dumps({"day": day.isoformat(), "rows": total, "elapsed_s": round(time.monotonic() - started, 1)}),
              flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE pass"))
    return truth_of(fleet, first_day, days, seed) | {"rows": total, "load_s": round(time.monotonic() - started, 1)}


def top_up(engine: Engine, first_day: date, days: int, target: int, seed: int) -> dict[str, object]:
    """Add through traffic to every local day with fewer than `target` passes, up to about `target`.

    The month's generator leaves weekend days short (commuters stay home). The added vehicles have
    plates of prefixes the generator never makes, so no planted case or existing vehicle changes.
    Days already at `target` are left alone: running it again adds nothing. (A run stopped half way
    and run again may give a through plate of a finished day to another day: a vehicle coming back.)
    """
    rng = random.Random(f"top-up-{seed}")
    sites = load_sites(engine)
    plates = PlateMaker(rng)
    start = local_midnight(first_day)
    with engine.connect() as conn:
        counted = {row.day: int(row.n) for row in conn.execute(text(
            "SELECT CAST(captured_at AT TIME ZONE 'Asia/Shanghai' AS date) AS day, count(*) AS n FROM pass"
            " WHERE captured_at >= :low AND captured_at < :high GROUP BY 1"),
            {"low": start, "high": start + timedelta(days=days)})}
    added: dict[str, int] = {}
    started = time.monotonic()
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        missing = target - counted.get(day, 0)
        if missing <= 0:
            continue
        added[day.isoformat()] = copy_day(engine, sites, _through_until(rng, sites, plates, day, missing))
        print(json.dumps({"day": day.isoformat(), "before": counted.get(day, 0), "added": added[day.isoformat()],
                          "elapsed_s": round(time.monotonic() - started, 1)}), flush=True)
    touched = {partition_name((local_midnight(date.fromisoformat(day)) + timedelta(hours=hours)).date())
               for day in added for hours in (0, 23)}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in sorted(touched):  # only the day partitions written to: the rest of the month is unchanged
            conn.execute(text(f"VACUUM ANALYZE {name}"))
    return {"target": target, "added": added, "rows_added": sum(added.values()),
            "top_up_s": round(time.monotonic() - started, 1)}


def _through_until(rng: random.Random, sites: Sites, plates: PlateMaker, day: date, rows: int) -> Iterator[PassRow]:
    """Through vehicles leaving on `day` until it has at least `rows` more passes. Hops after midnight
    (a vehicle kept whole) count for the next day, as the day's pass count does: a second run adds nothing."""
    made, midnight = 0, local_midnight(day)
    while made < rows:
        for row in through_vehicle(rng, sites, plates, midnight, TOP_UP_PREFIXES):
            made += row[1] < midnight + timedelta(days=1)
            yield row


def truth_of(fleet: Fleet, first_day: date, days: int, seed: int) -> dict[str, object]:
    """What the benchmark needs to know of a load: its window and the planted plates."""
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC) - LOCAL_OFFSET
    return {"first_day": first_day.isoformat(), "days": days, "start": start.isoformat(),
            "end": (start + timedelta(days=days)).isoformat(), "seed": seed, "vehicles": len(fleet.vehicles),
            "clones": sorted(fleet.clones), "companions": fleet.companions,
            "night": sorted(v.plate for v in fleet.vehicles if v.kind == "night"),
            "commuters": [v.plate for v in fleet.vehicles if v.kind == "commuter"][:2000]}


def truth_only(engine: Engine, first_day: date, days: int, passes_per_day: int, seed: int) -> dict[str, object]:
    """The truth of a load made with these arguments (the fleet is drawn before any pass), loading nothing:
    for a load stopped after `days` whole days."""
    rng = random.Random(seed)
    fleet = make_fleet(rng, load_sites(engine), PlateMaker(rng), passes_per_day)
    return truth_of(fleet, first_day, days, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--passes-per-day", type=int, default=300_000)
    parser.add_argument("--first-day", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--truth", type=Path, default=Path("var/traffic-truth.json"))
    parser.add_argument("--no-migrate", action="store_true", help="load first, build newer indexes later")
    parser.add_argument("--truth-only", action="store_true",
                        help="write the truth file of a load with these arguments (--days: the whole days loaded)")
    parser.add_argument("--top-up-to", type=int, metavar="PASSES",
                        help="add through traffic to the loaded days that have fewer passes (truth unchanged)")
    args = parser.parse_args()
    engine = bench_engine(migrate=not args.no_migrate)
    if args.top_up_to is not None:
        print(json.dumps(top_up(engine, args.first_day, args.days, args.top_up_to, args.seed)))
        return
    if args.truth_only:
        truth = truth_only(engine, args.first_day, args.days, args.passes_per_day, args.seed)
    else:
        truth = generate(engine, args.first_day, args.days, args.passes_per_day, args.seed)
    args.truth.parent.mkdir(parents=True, exist_ok=True)
    args.truth.write_text(json.dumps(truth, ensure_ascii=False))
    print(json.dumps({k: v for k, v in truth.items() if not isinstance(v, list | dict)}))


if __name__ == "__main__":
    main()
