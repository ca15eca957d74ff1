"""The demo's vehicles and where they drive: commuters, taxis, through traffic and residents.

A trip runs from one checkpoint to another and passes every checkpoint on its shortest road path,
each leg at the trip's speed over its road distance (trajectory.roads, the distances 套牌 judges
by), and a vehicle starts each trip where it last was: consecutive passes of one plate are never
faster than the roads allow, so 套牌 finds only what was planted. Days are local days; a vehicle's
trips of a day come from a random stream seeded by its plate and the day, so the history loader and
the live demo agree on who drives when.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on plates
DIGITS = "0123456789"
LOCAL_PREFIXES = ["粤L"] * 12 + ["粤B", "粤S"]
VISITOR_PREFIXES = ["粤B", "粤S", "粤A", "粤M", "湘A", "赣B", "粤E"]
BODY_COLOURS = ["white"] * 5 + ["black"] * 3 + ["silver"] * 3 + ["grey"] * 2 + ["red", "blue", "brown"]
BRANDS = ["比亚迪", "丰田", "本田", "大众", "日产", "吉利", "长安", "别克", "哈弗", "五菱"]
CAR_TYPES = ["car"] * 6 + ["suv"] * 3 + ["mpv"]
TRUCK_BRANDS = ["东风", "解放", "重汽", "福田"]
REPOSITION_KMH = 80.0  # a vehicle moved between trips is never placed faster than this
KINDS = ("commuter", "taxi", "truck", "resident", "van")

Distance = Callable[[int, int], float]  # road metres from checkpoint a to checkpoint b


@dataclass(frozen=True)
class Site:
    """A checkpoint as the fleet sees it."""

    id: int
    district: str
    city_line: bool  # on the city boundary (市界): where through traffic enters and leaves
    lon: float
    lat: float


@dataclass
class Vehicle:
    """One plate and how it lives: its kind, its places, and where it was last seen."""

    plate: str
    kind: str
    plate_colour: str
    plate_type: str
    body_colour: str
    body_type: str
    brand: str
    home: int
    work: int
    district: str
    location: int = -1  # the checkpoint of its last pass
    free_at: datetime | None = None  # when it last passed


@dataclass(frozen=True)
class Trip:
    origin: int
    destination: int
    depart: datetime
    speed_kmh: float
    via: tuple[int, ...] = ()  # checkpoints to go through on the way (a planted route)
    steady: bool = False  # the same pace on every leg (planted convoys keep their distance)


@dataclass(frozen=True)
class Sighting:
    vehicle: Vehicle
    checkpoint_id: int
    at: datetime
    speed_kmh: float
    inbound: bool  # heading towards the city centre


@dataclass
class RoadTable:
    """Road distances between checkpoints, and which checkpoints lie on the way from one to another."""

    sites: dict[int, Site]
    road_metres: Distance
    _metres: dict[tuple[int, int], float] = field(default_factory=dict)
    _ways: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    _nearest: dict[int, list[int]] = field(default_factory=dict)

    def distance(self, origin: int, destination: int) -> float:
        """Road metres from origin to destination (looked up once per pair: a week asks millions of times)."""
        key = (origin, destination)
        if (found := self._metres.get(key)) is None:
            found = self._metres[key] = self.road_metres(origin, destination)
        return found

    def way(self, origin: int, destination: int) -> tuple[int, ...]:
        """The checkpoints passed from origin to destination, in driving order, both ends included."""
        key = (origin, destination)
        if (found := self._ways.get(key)) is None:
            if origin == destination:
                found = (origin,)
            else:
                whole = self.distance(origin, destination)
                slack = whole * 0.01 + 150.0
                on_way = [cp for cp in self.sites if cp not in key
                          and self.distance(origin, cp) + self.distance(cp, destination) <= whole + slack]
                on_way.sort(key=lambda cp: self.distance(origin, cp))
                found = (origin, *on_way, destination)
            self._ways[key] = found
        return found

    def nearest(self, site: int, count: int, pool: list[int] | None = None) -> list[int]:
        """The `count` checkpoints of `pool` (default: all) nearest to `site` by road, itself excluded."""
        if (ranked := self._nearest.get(site)) is None:
            ranked = self._nearest[site] = sorted((cp for cp in self.sites if cp != site),
                                                  key=lambda cp: self.distance(site, cp))
        if pool is None:
            return ranked[:count]
        wanted = set(pool)
        return [cp for cp in ranked if cp in wanted][:count]


class Fleet:
    """Vehicles of every kind, and their trips day by day."""

    def __init__(self, roads: RoadTable, *, commuters: int, taxis: int, trucks: int, residents: int, vans: int,
                 zone: ZoneInfo, seed: int = 2026) -> None:
        self.roads = roads
        self.zone = zone
        self.seed = seed
        self.rng = random.Random(seed)
        self.plates: set[str] = set()
        ids = sorted(roads.sites)
        self.by_district: dict[str, list[int]] = {}
        for cp in ids:
            self.by_district.setdefault(roads.sites[cp].district, []).append(cp)
        self.city_line = [cp for cp in ids if roads.sites[cp].city_line] or ids
        lon = sum(s.lon for s in roads.sites.values()) / len(ids)
        lat = sum(s.lat for s in roads.sites.values()) / len(ids)
        self.centre = (lon, lat)
        self.vehicles: list[Vehicle] = []
        for kind, count in (("commuter", commuters), ("taxi", taxis), ("truck", trucks), ("resident", residents),
                            ("van", vans)):
            for _ in range(count):
                self.vehicles.append(self.new_vehicle(kind))

    def new_plate(self, prefixes: list[str], green_share: float = 0.12) -> tuple[str, str, str]:
        """A plate no vehicle of this fleet has, with its colour and type (GA 36)."""
        while True:
            prefix = self.rng.choice(prefixes)
            if self.rng.random() < green_share:
                plate, colour, kind = prefix + self.rng.choice("DF") + self._chars(5, 0), "green", "new_energy_small"
            else:
                plate, colour, kind = prefix + self._chars(5, self.rng.randint(0, 2)), "blue", "small"
            if plate not in self.plates:
                self.plates.add(plate)
                return plate, colour, kind

    def _chars(self, count: int, letters: int) -> str:
        return "".join(self.rng.choice(LETTERS if i < letters else DIGITS) for i in range(count))

    def new_vehicle(self, kind: str, *, home: int | None = None, plate: str | None = None) -> Vehicle:
        rng = self.rng
        if kind == "truck":
            made = self.new_plate(VISITOR_PREFIXES, green_share=0.0)
            plate_colour, plate_type = "yellow", "large"
        else:
            made = self.new_plate(LOCAL_PREFIXES)
            plate_colour, plate_type = made[1], made[2]
        if plate is not None:
            self.plates.add(plate)
        home = home if home is not None else rng.choice(self.city_line if kind == "truck" else sorted(self.roads.sites))
        district = self.roads.sites[home].district
        if kind == "truck":
            far = [cp for cp in self.city_line if self.roads.distance(home, cp) > 20_000] or self.city_line
            work = rng.choice(far)
        else:
            work = rng.choice(self.roads.nearest(home, 12))
        body_type = {"truck": "truck", "taxi": "car", "van": "van"}.get(kind) or rng.choice(CAR_TYPES)
        return Vehicle(plate=plate or made[0], kind=kind, plate_colour=plate_colour, plate_type=plate_type,
                       body_colour="yellow" if kind == "taxi" else rng.choice(BODY_COLOURS), body_type=body_type,
                       brand=rng.choice(TRUCK_BRANDS if kind == "truck" else BRANDS), home=home, work=work,
                       district=district, location=home)

    # --- a day's trips ------------------------------------------------------------------------

    def day_trips(self, vehicle: Vehicle, day: date, first_day: bool) -> list[Trip]:
        """The trips the vehicle sets out on during local `day` (every vehicle drives on the first day)."""
        rng = random.Random(f"{self.seed}:{vehicle.plate}:{day.isoformat()}")
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone)

        def at(hour: float) -> datetime:
            return midnight + timedelta(hours=hour)

        weekday = day.weekday() < 5
        speed = rng.uniform(38.0, 75.0)
        trips: list[Trip] = []
        if vehicle.kind == "planted":
            return trips  # planted vehicles drive their planted trips only
        if vehicle.kind == "commuter":
            if weekday or first_day or rng.random() < 0.3:
                trips.append(Trip(vehicle.home, vehicle.work, at(rng.uniform(7.0, 8.8)), speed))
                trips.append(Trip(vehicle.work, vehicle.home, at(rng.uniform(17.2, 19.5)), speed))
        elif vehicle.kind == "taxi":
            hour = rng.uniform(7.0, 8.0)
            place = vehicle.home
            pool = self.by_district.get(vehicle.district, []) or sorted(self.roads.sites)
            while hour < 20.5:
                target = rng.choice(pool)
                trips.append(Trip(place, target, at(hour), rng.uniform(30.0, 55.0)))
                place = target
                hour += rng.uniform(0.9, 1.8)
        elif vehicle.kind == "van":
            if weekday or first_day or rng.random() < 0.4:  # deliveries: a round of calls near home
                hour, place = rng.uniform(8.0, 9.5), vehicle.home
                for call in rng.sample(self.roads.nearest(vehicle.home, 30), k=rng.randint(3, 6)):
                    trips.append(Trip(place, call, at(hour), speed))
                    place, hour = call, hour + rng.uniform(1.0, 1.8)
                trips.append(Trip(place, vehicle.home, at(hour), speed))
        elif vehicle.kind == "truck":
            if first_day or rng.random() < 0.5:
                ends = (vehicle.home, vehicle.work) if rng.random() < 0.5 else (vehicle.work, vehicle.home)
                hour = rng.uniform(22.0, 29.0) if rng.random() < 0.2 else rng.uniform(6.0, 19.0)  # some by night
                trips.append(Trip(*ends, at(hour), rng.uniform(50.0, 80.0)))
        elif first_day or rng.random() < 0.45:
            errand = rng.choice(self.roads.nearest(vehicle.home, 15))
            leave = rng.uniform(9.0, 16.0)
            trips.append(Trip(vehicle.home, errand, at(leave), speed))
            trips.append(Trip(errand, vehicle.home, at(leave + rng.uniform(1.0, 3.0)), speed))
        return trips

    # --- driving ------------------------------------------------------------------------------

    def drive(self, vehicle: Vehicle, trip: Trip, rng: random.Random) -> Iterator[Sighting]:
        """The trip's passes, the vehicle's place and time updated as it goes.

        A trip that starts away from where the vehicle last was is delayed until it could have got
        there at REPOSITION_KMH; one that starts before its last pass waits for it.
        """
        depart = trip.depart
        if vehicle.free_at is not None:
            reposition_s = self.roads.distance(vehicle.location, trip.origin) / (REPOSITION_KMH / 3.6)
            depart = max(depart, vehicle.free_at + timedelta(seconds=reposition_s + 30.0))
        stops = [trip.origin, *trip.via, trip.destination]
        path: list[int] = [stops[0]]
        for a, b in zip(stops, stops[1:], strict=False):
            path.extend(self.roads.way(a, b)[1:])
        at, previous = depart, path[0]
        for index, checkpoint_id in enumerate(path):
            if index > 0:
                leg_s = self.roads.distance(previous, checkpoint_id) / (trip.speed_kmh / 3.6)
                at += timedelta(seconds=leg_s * (1.0 if trip.steady else rng.uniform(1.0, 1.15)))
            speed = trip.speed_kmh if trip.steady else round(trip.speed_kmh + rng.uniform(-6.0, 6.0), 1)
            if checkpoint_id in self.roads.sites:  # not where a checkpoint was made inactive since its last pass
                yield Sighting(vehicle, checkpoint_id, at, speed, self._inbound(previous, checkpoint_id))
            vehicle.location, vehicle.free_at, previous = checkpoint_id, at, checkpoint_id

    def _inbound(self, previous: int, current: int) -> bool:
        def off_centre(cp: int) -> float:
            site = self.roads.sites.get(cp) or self.roads.sites[current]
            return (site.lon - self.centre[0]) ** 2 + (site.lat - self.centre[1]) ** 2

        return off_centre(current) <= off_centre(previous)

    def stream(self, vehicle: Vehicle, days: Iterable[date], *, first_day: date, extra: Iterable[Trip] = (),
               not_before: datetime | None = None) -> Iterator[Sighting]:
        """The vehicle's passes day by day, in time order: its own trips and `extra` (planted) ones;
        trips setting out before `not_before` are left out (the live demo starts mid-day)."""
        planned: dict[date, list[Trip]] = {}
        for trip in extra:
            planned.setdefault(trip.depart.astimezone(self.zone).date(), []).append(trip)
        rng = random.Random(f"{self.seed}:{vehicle.plate}:drive")
        for day in days:
            trips = self.day_trips(vehicle, day, day == first_day) + planned.get(day, [])
            for trip in sorted(trips, key=lambda t: t.depart):
                if not_before is None or trip.depart >= not_before:
                    yield from self.drive(vehicle, trip, rng)


def local_days(first: date, last: date | None = None) -> Iterator[date]:
    """first, the day after, ... up to `last` (for ever without it)."""
    day = first
    while last is None or day <= last:
        yield day
        day += timedelta(days=1)
