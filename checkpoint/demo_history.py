"""`checkpoint demo` at first start: seven days of the fleet's traffic and the planted cases, by COPY.

The passes go straight into the day partitions (passes/store.py), not through the reads stream:
a week of a city is ~100,000 passes, which the live path would take minutes to write and the
matcher would raise old alerts for. Each plate's image is rendered once and shared by its passes.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from checkpoint.capture.synthetic.plates import cjk_font, render_plate
from checkpoint.demo_fleet import Fleet, RoadTable, Sighting, Site, Vehicle, local_days
from checkpoint.demo_planted import PlantedCases, plant_cases
from checkpoint.passes.partitions import ensure_day_partitions
from checkpoint.passes.record import CapturedPass
from checkpoint.passes.store import copy_rows, insert_copy_text
from checkpoint.sites.models import Checkpoint
from checkpoint.trajectory.roads import road_network

log = logging.getLogger(__name__)

HISTORY_DAYS = 7
BATCH = 20_000  # passes per COPY (a stop is heard between two)
FLEET = {"commuters": 1500, "taxis": 60, "trucks": 300, "residents": 1100, "vans": 500}  # ~25,000 passes a day
IMAGES_DIR = "images/demo"
TAXI_PLATE = "粤LT2468"  # a taxi of the busiest district, watched by the demo so a newcomer sees alerts
BODY_BGR = {"white": (235, 235, 235), "black": (30, 30, 30), "silver": (190, 190, 195), "grey": (120, 120, 120),
            "red": (40, 40, 190), "blue": (170, 90, 30), "brown": (40, 70, 110), "yellow": (30, 200, 240)}


@dataclass(frozen=True)
class HistoryLoaded:
    passes: int
    seconds: float
    start: datetime
    end: datetime
    planted: PlantedCases
    kinds: dict[str, str]  # plate -> commuter, taxi, truck, resident or van (the planted ones: planted)


def demo_fleet(session: Session, zone: ZoneInfo, scale: float = 1.0, seed: int = 2026) -> Fleet:
    """The fleet over the active checkpoints and their road distances (the same for the same seed);
    the first taxi of the busiest district carries TAXI_PLATE, the plate the demo watches."""
    rows = session.scalars(select(Checkpoint).where(Checkpoint.active.is_(True)).order_by(Checkpoint.id))
    sites = {cp.id: Site(cp.id, cp.district, cp.defence_line == "city", cp.lon, cp.lat) for cp in rows}
    roads = RoadTable(sites, road_network(session).distance_m)
    sizes = {name: max(1, int(count * scale)) for name, count in FLEET.items()}
    fleet = Fleet(roads, zone=zone, seed=seed, **sizes)
    busiest = max(fleet.by_district, key=lambda district: len(fleet.by_district[district]))
    taxi = next((v for v in fleet.vehicles if v.kind == "taxi" and v.district == busiest), None)
    if taxi is not None:
        taxi.plate, taxi.plate_colour, taxi.plate_type = TAXI_PLATE, "blue", "small"
        fleet.plates.add(TAXI_PLATE)
    return fleet


def history_days(now: datetime, zone: ZoneInfo, days: int = HISTORY_DAYS) -> list[date]:
    """The `days` full local days before today."""
    today = now.astimezone(zone).date()
    return [today - timedelta(days=days - i) for i in range(days)]


class PlateImages:
    """A plate crop and a small scene per plate, rendered once into data_dir/images/demo.

    Paths are known before the images exist (a hash of the plate), so the history's passes are
    stored first and its images drawn after (`render_missing`): the week is searchable sooner.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.font = cjk_font()
        self.asked: dict[str, Vehicle] = {}  # plate -> a vehicle carrying it, for every path handed out
        self.rendered: set[str] = set()
        (data_dir / IMAGES_DIR).mkdir(parents=True, exist_ok=True)

    def paths(self, vehicle: Vehicle) -> tuple[str | None, str | None]:
        """(scene, plate) paths relative to the data directory; (None, None) without a CJK font."""
        if self.font is None:
            return None, None
        self.asked.setdefault(vehicle.plate, vehicle)
        name = hashlib.sha256(vehicle.plate.encode()).hexdigest()[:16]
        return f"{IMAGES_DIR}/{name}_scene.jpg", f"{IMAGES_DIR}/{name}_plate.jpg"

    def render(self, vehicle: Vehicle) -> None:
        """Draw the vehicle's two images unless they are on disk already."""
        scene_rel, plate_rel = self.paths(vehicle)
        if self.font is None or scene_rel is None or plate_rel is None or vehicle.plate in self.rendered:
            return
        if not (self.data_dir / scene_rel).exists():
            plate = render_plate(vehicle.plate, self.font, size=(141, 36), face=vehicle.plate_colour)
            self._write(plate_rel, plate)
            self._write(scene_rel, _scene(plate, vehicle.body_colour))
        self.rendered.add(vehicle.plate)

    def render_missing(self, threads: int = 2) -> int:
        """Draw every image a path was handed out for (JPEG encoding and file writes release the GIL)."""
        asked = dict(self.asked)  # a copy: the live demo hands out paths meanwhile
        waiting = [vehicle for plate, vehicle in asked.items() if plate not in self.rendered]
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="demo-images") as workers:
            list(workers.map(self.render, waiting))
        return len(waiting)

    def _write(self, relpath: str, image: np.ndarray) -> None:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            (self.data_dir / relpath).write_bytes(encoded.tobytes())


def _scene(plate: np.ndarray, body: str) -> np.ndarray:
    """The front of a car of colour `body` on a grey road with the plate on its bumper (a drawing)."""
    scene = np.full((240, 320, 3), 95, dtype=np.uint8)
    colour = BODY_BGR.get(body, (150, 150, 150))
    cv2.rectangle(scene, (50, 40), (270, 225), colour, thickness=-1)
    cv2.rectangle(scene, (80, 55), (240, 110), (60, 60, 60), thickness=-1)  # windscreen
    for x in (70, 225):
        cv2.rectangle(scene, (x, 130), (x + 25, 145), (200, 230, 240), thickness=-1)  # lamps
    top, left = 165, 160 - plate.shape[1] // 2
    scene[top:top + plate.shape[0], left:left + plate.shape[1]] = plate
    return scene


def captured(sighting: Sighting, site: Checkpoint, images: PlateImages, rng: random.Random) -> CapturedPass:
    """The pass a camera at `site` would report for the sighting."""
    vehicle = sighting.vehicle
    scene, plate = images.paths(vehicle)
    directions = site.directions or ["in"]
    wanted = "in" if sighting.inbound else "out"
    return CapturedPass(
        checkpoint_id=site.id, plate=vehicle.plate, captured_at=sighting.at.astimezone(UTC),
        plate_colour=vehicle.plate_colour, plate_type=vehicle.plate_type, confidence=round(rng.uniform(0.86, 0.99), 3),
        lane=rng.randint(1, max(1, site.lanes)), direction=wanted if wanted in directions else directions[0],
        speed_kmh=sighting.speed_kmh, image_path=scene, plate_image_path=plate, vehicle_colour=vehicle.body_colour,
        vehicle_type=vehicle.body_type, vehicle_brand=vehicle.brand, source="demo")


def history_sightings(fleet: Fleet, planted: PlantedCases, first: date, now: datetime) -> Iterator[Sighting]:
    """Every pass of the fleet and the planted vehicles from local day `first` up to `now`."""
    today = now.astimezone(fleet.zone).date()
    for vehicle in [*fleet.vehicles, *planted.vehicles]:
        for sighting in fleet.stream(vehicle, local_days(first, today), first_day=first,
                                     extra=planted.trips.get(id(vehicle), [])):
            if sighting.at >= now:
                break
            yield sighting


def has_history(session: Session, now: datetime) -> bool:
    """Whether any pass was stored in the last HISTORY_DAYS days (then the history is not loaded again)."""
    since = now - timedelta(days=HISTORY_DAYS + 1)
    return session.execute(text("SELECT 1 FROM pass WHERE captured_at >= :since LIMIT 1"),
                           {"since": since}).first() is not None


@dataclass
class PlannedHistory:
    """The history worked out in memory: the fleet (each vehicle left where its last pass was) and its passes."""

    fleet: Fleet
    planted: PlantedCases
    sightings: list[Sighting]
    start: datetime
    end: datetime
    seconds: float


def plan_history(session: Session, now: datetime, zone: ZoneInfo, *, scale: float = 1.0,
                 seed: int = 2026) -> PlannedHistory:
    """HISTORY_DAYS full local days and today up to `now`: who passed where, planted cases included."""
    started = time.perf_counter()
    fleet = demo_fleet(session, zone, scale, seed)
    days = history_days(now, zone)
    planted = plant_cases(fleet, days)
    start = datetime(days[0].year, days[0].month, days[0].day, tzinfo=zone).astimezone(UTC)
    sightings = list(history_sightings(fleet, planted, days[0], now))
    return PlannedHistory(fleet, planted, sightings, start, now, time.perf_counter() - started)


def store_history(session: Session, plan: PlannedHistory, images: PlateImages, seed: int = 2026,
                  stop: threading.Event | None = None) -> int | None:
    """COPY the planned passes into their day partitions (the caller commits, then draws `images`);
    None when `stop` was set before the last batch (the caller rolls back: all or nothing)."""
    return store_sightings(session, plan.sightings, images, plan.end, seed, stop)


def store_sightings(session: Session, sightings: list[Sighting], images: PlateImages, received_at: datetime,
                    seed: int = 2026, stop: threading.Event | None = None) -> int | None:
    """COPY passes into their day partitions (see store_history)."""
    if not sightings:
        return 0
    first, last = min(s.at for s in sightings), max(s.at for s in sightings)
    ensure_day_partitions(session.connection(), first.astimezone(UTC).date(), last.astimezone(UTC).date())
    sites = {cp.id: cp for cp in session.scalars(select(Checkpoint))}
    positions = {cp.id: (cp.lat, cp.lon) for cp in sites.values()}
    dbapi = session.connection().connection.dbapi_connection
    rng = random.Random(f"{seed}:cameras")
    stored = 0
    for start in range(0, len(sightings), BATCH):
        if stop is not None and stop.is_set():
            return None
        batch = [captured(sighting, sites[sighting.checkpoint_id], images, rng)
                 for sighting in sightings[start:start + BATCH]]
        stored += insert_copy_text(dbapi, copy_rows(batch, positions, received_at), len(batch))
    return stored


def load_history(session: Session, data_dir: Path, now: datetime, zone: ZoneInfo, *,
                 scale: float = 1.0, seed: int = 2026) -> HistoryLoaded:
    """Write HISTORY_DAYS full days and today up to `now` into the pass table (the caller commits), then
    draw the images; `seconds` is the time until the passes were stored."""
    started = time.perf_counter()
    plan = plan_history(session, now, zone, scale=scale, seed=seed)
    images = PlateImages(data_dir)
    stored = store_history(session, plan, images, seed) or 0
    seconds = time.perf_counter() - started
    images.render_missing()
    log.info("demo.history_loaded", extra={"passes": stored, "seconds": round(seconds, 1)})
    kinds = {v.plate: v.kind for v in plan.fleet.vehicles} | {v.plate: v.kind for v in plan.planted.vehicles}
    return HistoryLoaded(passes=stored, seconds=seconds, start=plan.start, end=now, planted=plan.planted,
                         kinds=kinds)
