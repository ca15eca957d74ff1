"""`checkpoint demo`: generated traffic over the 120 Huizhou checkpoints, in real time.

Vehicles drive between neighbouring checkpoints at road speeds and each sighting is appended to
`checkpoint:reads` exactly as a smart camera's push would be, so the whole path runs: writer,
PostgreSQL, the pass stream, the watchlist matcher, live coverage and the console. One taxi
shuttles between two close checkpoints of 惠城; the demo watches its plate, so a newcomer sees
a hit alert within about a minute.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import audit, users
from checkpoint.core.bus import READS_STREAM
from checkpoint.core.config import Settings
from checkpoint.core.db import utcnow
from checkpoint.core.security import generate_password
from checkpoint.passes.record import CapturedPass
from checkpoint.sites.models import Checkpoint
from checkpoint.sites.roadgraph import haversine_m

log = logging.getLogger(__name__)

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on plates
DIGITS = "0123456789"
PREFIXES = ["粤L"] * 14 + ["粤B", "粤S", "粤A", "粤M", "湘A", "赣B"]
TAXI_PLATE = "粤LT2468"


@dataclass
class Vehicle:
    plate: str
    colour: str
    plate_type: str
    at: Checkpoint
    speed_kmh: float
    shuttle: tuple[Checkpoint, Checkpoint] | None = None


def random_plate(rng: random.Random) -> tuple[str, str, str]:
    """(plate, colour, type) after GA 36: mostly blue small cars, some green new-energy, some yellow trucks."""
    prefix = rng.choice(PREFIXES)
    roll = rng.random()
    if roll < 0.12:
        return prefix + rng.choice("DF") + "".join(rng.choice(DIGITS) for _ in range(5)), "green", "new_energy_small"
    tail = "".join(rng.choice(LETTERS if i < rng.randint(0, 2) else DIGITS) for i in range(5))
    if roll < 0.2:
        return prefix + tail, "yellow", "large"
    return prefix + tail, "blue", "small"


class DemoTraffic:
    """A fleet whose next sightings wait in a heap ordered by when they are due."""

    def __init__(self, checkpoints: list[Checkpoint], vehicles: int, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.checkpoints = checkpoints
        self.neighbours = {cp.id: _nearest(cp, checkpoints, 4) for cp in checkpoints}
        self.due: list[tuple[float, int, Vehicle]] = []
        now = time.monotonic()
        for index in range(vehicles):
            plate, colour, kind = random_plate(self.rng)
            vehicle = Vehicle(plate, colour, kind, self.rng.choice(checkpoints), self.rng.uniform(40, 90))
            heapq.heappush(self.due, (now + self.rng.uniform(0, 300), index, vehicle))
        home = next((cp for cp in checkpoints if cp.district == "441302"), checkpoints[0])
        partner = self.neighbours[home.id][0]
        taxi = Vehicle(TAXI_PLATE, "blue", "small", home, 45.0, shuttle=(home, partner))
        heapq.heappush(self.due, (now + 20, vehicles, taxi))

    def next_due(self) -> float:
        return self.due[0][0]

    def pop_sighting(self) -> CapturedPass:
        """The sighting due now; the vehicle is rescheduled at its next checkpoint."""
        due, index, vehicle = heapq.heappop(self.due)
        site = vehicle.at
        sighting = CapturedPass(
            checkpoint_id=site.id, plate=vehicle.plate, captured_at=utcnow(), plate_colour=vehicle.colour,
            plate_type=vehicle.plate_type, confidence=round(self.rng.uniform(0.86, 0.99), 3),
            lane=self.rng.randint(1, max(1, site.lanes)), direction=self.rng.choice(site.directions or ["in"]),
            speed_kmh=round(vehicle.speed_kmh + self.rng.uniform(-8, 8), 1), source="demo")
        if vehicle.shuttle is not None:
            a, b = vehicle.shuttle
            vehicle.at = b if site.id == a.id else a
        else:
            vehicle.at = self.rng.choice(self.neighbours[site.id])
        travel_s = _distance_m(site, vehicle.at) * 1.3 / (vehicle.speed_kmh / 3.6)
        heapq.heappush(self.due, (due + max(travel_s, 30.0), index, vehicle))
        return sighting


def _nearest(site: Checkpoint, checkpoints: list[Checkpoint], count: int) -> list[Checkpoint]:
    others = [other for other in checkpoints if other.id != site.id]
    return sorted(others, key=lambda other: _distance_m(site, other))[:count]


def _distance_m(a: Checkpoint, b: Checkpoint) -> float:
    return haversine_m((a.lon, a.lat), (b.lon, b.lat))


def run_demo_traffic(bus: Redis, sessions: sessionmaker[Session], stop: threading.Event, vehicles: int = 400) -> None:
    """Append sightings to the reads stream as they fall due, until `stop`."""
    with sessions() as session:
        checkpoints = list(session.scalars(select(Checkpoint).where(Checkpoint.active.is_(True))
                                           .order_by(Checkpoint.id)))
        session.expunge_all()
    if not checkpoints:
        log.warning("demo.no_checkpoints")
        return
    traffic = DemoTraffic(checkpoints, vehicles)
    sent = 0
    while not stop.is_set():
        wait_s = traffic.next_due() - time.monotonic()
        if wait_s > 0 and stop.wait(min(wait_s, 1.0)):
            break
        if traffic.next_due() > time.monotonic():
            continue
        bus.xadd(READS_STREAM, traffic.pop_sighting().to_fields())  # type: ignore[arg-type]  # stubs want a wider dict
        sent += 1
        if sent % 500 == 0:
            log.info("demo.sightings", extra={"sent": sent})


DEMO_USERS = {"demo.dispatcher": ["dispatcher"], "demo.officer": ["officer"], "demo.investigator": ["investigator"],
              "demo.planner": ["planner"]}


def ensure_demo_users(sessions: sessionmaker[Session]) -> dict[str, str]:
    """One user per working role, created once with a random password; returns those created now."""
    created: dict[str, str] = {}
    with sessions() as session:
        for name, roles in DEMO_USERS.items():
            if users.get_by_name(session, name) is None:
                password = generate_password()
                users.create(session, username=name, password=password, roles=roles)
                audit.record(session, None, "user.create", target=name, actor_name="demo", detail={"roles": roles})
                created[name] = password
        session.commit()
    return created


def run_video_feeds(sessions: sessionmaker[Session], redis_url: str, settings: Settings, count: int,
                    stop: threading.Event) -> None:
    """Generated videos (made once, about a minute each) read by the real capture pipeline with LPR."""
    from checkpoint.capture.video.config import FeedConfig
    from checkpoint.capture.video.feeds import ensure_demo_feeds, video_feed_configs
    from checkpoint.capture.video.supervisor import Supervisor

    with sessions() as session:
        ensure_demo_feeds(session, settings.data_dir, count=count)
        session.commit()
        configs = video_feed_configs(session, settings.capture)

    def registry() -> list[FeedConfig]:  # feeds added or disabled on 设备 Devices are followed
        with sessions() as session:
            return video_feed_configs(session, settings.capture)

    if not stop.is_set():
        Supervisor(configs, redis_url, settings.data_dir, settings.lpr).start().run(stop, registry=registry)


def start_demo(bus: Redis, sessions: sessionmaker[Session], stop: threading.Event, redis_url: str,
               settings: Settings, video_feeds: int = 0, base_url: str | None = None) -> list[threading.Thread]:
    """Traffic, the demo watch on the taxi's plate (in force before its first pass), a camera of each pushing
    kind registered through the registry and played by a simulator process, and video feeds if asked."""
    from checkpoint.capture.demo_devices import start_demo_devices
    from checkpoint.watchlist.demo import start_demo_planter

    traffic = threading.Thread(target=run_demo_traffic, args=(bus, sessions, stop), name="demo-traffic", daemon=True)
    traffic.start()
    threads = [traffic, start_demo_planter(sessions, bus, stop, plate=TAXI_PLATE),
               start_demo_devices(sessions, settings.intake.digest_realm,
                                  base_url or f"http://{settings.host}:{settings.port}", stop)]
    if video_feeds > 0:
        video = threading.Thread(target=run_video_feeds, args=(sessions, redis_url, settings, video_feeds, stop),
                                 name="demo-video-feeds", daemon=True)
        video.start()
        threads.append(video)
    return threads


