"""The cases planted in the demo's history, one for each investigator analysis.

Each is a few vehicles with trips of their own (the fleet's vehicles never drive at night and
never share a plate), so each analysis over the history returns a short answer that is true:
套牌 the clone pair, 同行 the companion, 昼伏夜出 the night car, 初次入城 the newcomer,
落脚点 the resting checkpoint, 区域碰撞 the car at both scenes, 频繁过车 the circling car.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from checkpoint.demo_fleet import Fleet, Trip, Vehicle


@dataclass(frozen=True)
class SceneWindow:
    """One (checkpoint, time window) of the area-collision case."""

    checkpoint_id: int
    start: datetime
    end: datetime


@dataclass
class PlantedCases:
    """What was planted where; `days` are the history's local days (the first is index 0)."""

    days: list[date]
    clone_plate: str = ""
    clone_day: date | None = None
    companion_target: str = ""
    companion: str = ""
    night_plate: str = ""
    first_entry_plate: str = ""
    first_entry_day: date | None = None
    resting_plate: str = ""
    resting_checkpoint: int = 0
    collision_plate: str = ""
    collision_scenes: list[SceneWindow] = field(default_factory=list)
    frequent_plate: str = ""
    frequent_day: date | None = None
    frequent_checkpoints: tuple[int, int] = (0, 0)
    vehicles: list[Vehicle] = field(default_factory=list)
    trips: dict[int, list[Trip]] = field(default_factory=dict)  # id(vehicle) -> its planted trips

    def add(self, vehicle: Vehicle, trips: list[Trip]) -> None:
        self.vehicles.append(vehicle)
        self.trips[id(vehicle)] = trips

    def summary(self, names: dict[int, str], zone: ZoneInfo) -> list[str]:
        """One line per case for the console user to try (printed once, at first start); `names` gives
        each checkpoint's code and name."""
        scenes = "; ".join(f"{names.get(s.checkpoint_id, s.checkpoint_id)} "
                           f"{s.start.astimezone(zone):%m-%d %H:%M}-{s.end.astimezone(zone):%H:%M}"
                           for s in self.collision_scenes)
        return [
            f"套牌 clones: {self.clone_plate} on {self.clone_day}",
            f"同行 companions: {self.companion} follows {self.companion_target}",
            f"昼伏夜出 night-active: {self.night_plate}",
            f"初次入城 first entry: {self.first_entry_plate} on {self.first_entry_day}",
            f"落脚点 resting place of {self.resting_plate}: {names.get(self.resting_checkpoint)}",
            f"区域碰撞 area collision: {self.collision_plate} at {scenes}",
            f"频繁过车 frequent: {self.frequent_plate} on {self.frequent_day}",
        ]


def plant_cases(fleet: Fleet, days: list[date]) -> PlantedCases:
    """Planted vehicles and their trips over the history's full `days` (at least 7)."""
    rng = random.Random(f"{fleet.seed}:planted")
    roads, zone = fleet.roads, fleet.zone
    cases = PlantedCases(days=days)
    districts = sorted(fleet.by_district, key=lambda d: -len(fleet.by_district[d]))
    main = fleet.by_district[districts[0]]

    def at(day: date, hour: float) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=hour)

    def planted(home: int, plate: str | None = None) -> Vehicle:
        vehicle = fleet.new_vehicle("planted", home=home, plate=plate)
        vehicle.kind = "planted"
        return vehicle

    def apart(site: int, metres: float, pool: list[int]) -> int:
        return next((cp for cp in roads.nearest(site, len(pool), pool) if roads.distance(site, cp) >= metres),
                    pool[-1])

    # 套牌: a commuter of the main district, and a copy of its plate on a car 40 km away one morning.
    home = rng.choice(main)
    work = apart(home, 3_000, main)
    genuine = planted(home)
    trips = []
    for index, day in enumerate(days):
        leave = 8.0 if index == 4 else 8.0 + rng.uniform(0, 0.2)
        trips += [Trip(home, work, at(day, leave), 45.0), Trip(work, home, at(day, 18.0 + rng.uniform(0, 0.5)), 45.0)]
    cases.add(genuine, trips)
    far = max(sorted(roads.sites), key=lambda cp: roads.distance(home, cp))
    far_next = roads.nearest(far, 1)[0]
    copy = planted(far, plate=genuine.plate)
    copy.plate_colour, copy.plate_type, copy.body_colour = genuine.plate_colour, genuine.plate_type, genuine.body_colour
    copy.body_type, copy.brand = genuine.body_type, genuine.brand
    cases.add(copy, [Trip(far, far_next, at(days[4], 8.05), 50.0)])
    cases.clone_plate, cases.clone_day = genuine.plate, days[4]

    # 同行: a car that follows another 30 s behind on every trip of the week.
    start = rng.choice(main)
    goal = apart(start, 6_000, main)
    target, follower = planted(start), planted(start)
    target_trips, follower_trips = [], []
    for day in days:
        for origin, destination, hour in ((start, goal, 9.5 + rng.uniform(0, 0.5)), (goal, start, 15.0)):
            target_trips.append(Trip(origin, destination, at(day, hour), 50.0, steady=True))
            follower_trips.append(Trip(origin, destination, at(day, hour) + timedelta(seconds=30), 50.0, steady=True))
    cases.add(target, target_trips)
    cases.add(follower, follower_trips)
    cases.companion_target, cases.companion = target.plate, follower.plate

    # 昼伏夜出: a car of the second district that drives only between 23:00 and 02:00, every night.
    night_pool = fleet.by_district[districts[1]]
    night_home = rng.choice(night_pool)
    night_spots = roads.nearest(night_home, 4, night_pool)
    night = planted(night_home)
    night_trips = []
    for day in days:
        spot = rng.choice(night_spots)
        night_trips += [Trip(night_home, spot, at(day, 23.0 + rng.uniform(0, 0.3)), 40.0),
                        Trip(spot, night_home, at(day, 25.0 + rng.uniform(0, 0.5)), 40.0)]
    cases.add(night, night_trips)
    cases.night_plate = night.plate

    # 初次入城: a visitor from Shenzhen, first seen on the last full day.
    gate = rng.choice(fleet.city_line)
    visitor = planted(gate, plate=fleet.new_plate(["粤B"], green_share=0.0)[0])
    errand = rng.choice(main)
    cases.add(visitor, [Trip(gate, errand, at(days[-1], 10.0), 60.0), Trip(errand, gate, at(days[-1], 15.0), 60.0)])
    cases.first_entry_plate, cases.first_entry_day = visitor.plate, days[-1]

    # 落脚点: a car that goes somewhere new every day and always spends the night behind one checkpoint.
    rest = rng.choice(main)
    resting = planted(rest)
    outings = rng.sample(roads.nearest(rest, 20), k=len(days))
    resting_trips = []
    for day, outing in zip(days, outings, strict=True):
        resting_trips += [Trip(rest, outing, at(day, 9.0 + rng.uniform(0, 0.5)), 45.0),
                          Trip(outing, rest, at(day, 16.0 + rng.uniform(0, 0.5)), 45.0)]
    cases.add(resting, resting_trips)
    cases.resting_plate, cases.resting_checkpoint = resting.plate, rest

    # 区域碰撞: one car at two night scenes of two other districts, two nights apart.
    scenes = []
    burglar_trips = []
    for district, day in ((districts[2], days[2]), (districts[3], days[4])):
        pool = fleet.by_district[district]
        scene = max(pool, key=lambda cp: roads.distance(night_home, cp))
        leave_to = roads.nearest(scene, 1)[0]
        burglar_trips.append(Trip(scene, leave_to, at(day, 2.25), 45.0))
        scenes.append(SceneWindow(scene, at(day, 2.0), at(day, 2.75)))
    burglar = planted(scenes[0].checkpoint_id)
    cases.add(burglar, burglar_trips)
    cases.collision_plate, cases.collision_scenes = burglar.plate, scenes

    # 频繁过车: a car circling between two close checkpoints all of one day (踩点).
    loop_a = rng.choice(main)
    loop_b = apart(loop_a, 1_500, main)
    circling = planted(loop_a)
    day = days[5]
    circling_trips = [Trip(loop_a, loop_b, at(days[0], 11.0), 40.0), Trip(loop_b, loop_a, at(days[0], 12.0), 40.0)]
    for lap in range(10):
        circling_trips += [Trip(loop_a, loop_b, at(day, 8.5 + lap * 0.8), 40.0),
                           Trip(loop_b, loop_a, at(day, 8.9 + lap * 0.8), 40.0)]
    cases.add(circling, circling_trips)
    cases.frequent_plate, cases.frequent_day, cases.frequent_checkpoints = circling.plate, day, (loop_a, loop_b)
    return cases
