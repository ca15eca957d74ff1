"""`checkpoint demo`: a city of vehicles over the 120 Huizhou checkpoints, with a week behind it.

At first start the fleet's last seven days (and the cases planted for each analysis) are COPYed
into the pass table (demo_history.py); then the same vehicles drive on in real time, each pass
appended to `checkpoint:reads` exactly as a smart camera's push would be, so the whole path runs:
writer, PostgreSQL, the pass stream, the watchlist matcher, live coverage and the console. Vehicles
drive the road distances between checkpoints (demo_fleet.py), so no two passes of a plate are
impossibly fast. The demo watches a taxi of 惠城, so a newcomer sees a hit alert within a minute.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from redis import Redis
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import audit, users
from checkpoint.core.bus import READS_STREAM
from checkpoint.core.config import Settings
from checkpoint.core.db import utcnow
from checkpoint.core.security import generate_password
from checkpoint.demo_fleet import Fleet, Sighting, Trip, local_days
from checkpoint.demo_history import (
    TAXI_PLATE,
    PlateImages,
    captured,
    demo_fleet,
    has_history,
    history_days,
    plan_history,
    store_history,
)
from checkpoint.sites.models import Checkpoint

log = logging.getLogger(__name__)

__all__ = ["TAXI_PLATE", "ensure_demo_users", "start_demo"]

START_GRACE_S = 3.0  # planning the fleet takes a core for seconds: let the console come up first
LAST_SEEN_SQL = text("""
SELECT DISTINCT ON (plate) plate, checkpoint_id, captured_at FROM pass
WHERE captured_at >= :since ORDER BY plate, captured_at DESC
""")


def resume_fleet(session: Session, zone: ZoneInfo, now: datetime, scale: float = 1.0) -> Fleet:
    """The demo fleet, each vehicle where its last pass of the last two days left it (a restart)."""
    fleet = demo_fleet(session, zone, scale)
    last_seen = {row.plate: (row.checkpoint_id, row.captured_at)
                 for row in session.execute(LAST_SEEN_SQL, {"since": now - timedelta(days=2)})}
    for vehicle in fleet.vehicles:
        if (seen := last_seen.get(vehicle.plate)) is not None:
            vehicle.location, vehicle.free_at = seen
    return fleet


def live_sightings(fleet: Fleet, now: datetime) -> Iterator[Sighting]:
    """Every vehicle's passes from `now` on, in time order; the watched taxi sets out at once."""
    first_day = history_days(now, fleet.zone)[0]
    today = now.astimezone(fleet.zone).date()
    streams = []
    for vehicle in fleet.vehicles:
        extra: list[Trip] = []
        if vehicle.plate == TAXI_PLATE:
            onward = fleet.roads.nearest(vehicle.location, 3)[-1]
            extra.append(Trip(vehicle.location, onward, now + timedelta(seconds=20), 40.0))
        streams.append(fleet.stream(vehicle, local_days(today), first_day=first_day, extra=extra, not_before=now))
    return heapq.merge(*streams, key=lambda sighting: sighting.at)


def run_demo_traffic(bus: Redis, sessions: sessionmaker[Session], stop: threading.Event, data_dir: Path,
                     timezone: str, announce: Callable[[str], None] = print) -> None:
    """Load the history at first start, then append the fleet's passes to the reads stream as they fall due."""
    if stop.wait(START_GRACE_S):
        return
    zone, now = ZoneInfo(timezone), utcnow()
    with sessions() as session:
        sites = {cp.id: cp for cp in session.scalars(select(Checkpoint))}
        session.expunge_all()
        if not any(cp.active for cp in sites.values()):
            log.warning("demo.no_checkpoints")
            return
        plan = None if has_history(session, now) else plan_history(session, now, zone)
        fleet = plan.fleet if plan is not None else resume_fleet(session, zone, now)
    images = PlateImages(data_dir)
    live = threading.Thread(target=_drive_live, args=(bus, fleet, sites, images, now, stop),
                            name="demo-live", daemon=True)
    live.start()
    if plan is not None:
        started = time.perf_counter()
        announce(f"demo: first start: loading the last {len(plan.planted.days)} days of traffic ...")
        with sessions() as session:
            stored = store_history(session, plan, images, stop=stop)
            if stored is None:  # the next start sees the live passes and loads no history
                session.rollback()
                log.warning("demo.history_abandoned", extra={"reason": "stopped while loading"})
                live.join()
                return
            session.commit()
        plan.sightings = []  # a week of passes in memory is not needed any more
        names = {cp.id: f"{cp.code} {cp.name}" for cp in sites.values()}
        announce(f"demo: {stored:,} passes of the last {len(plan.planted.days)} days loaded in "
                 f"{plan.seconds + time.perf_counter() - started:.0f} s; cases planted for 研判 Analyses:")
        for line in plan.planted.summary(names, zone):
            announce(f"    {line}")
        images.render_missing()
    live.join()


def _drive_live(bus: Redis, fleet: Fleet, sites: dict[int, Checkpoint], images: PlateImages, now: datetime,
                stop: threading.Event) -> None:
    rng = random.Random()
    sent = 0
    for sighting in live_sightings(fleet, now):
        while (wait_s := (sighting.at - datetime.now(UTC)).total_seconds()) > 0:
            if stop.wait(min(wait_s, 1.0)):
                return
        if stop.is_set():
            return
        images.render(sighting.vehicle)  # a no-op once drawn
        bus.xadd(READS_STREAM, captured(sighting, sites[sighting.checkpoint_id], images, rng).to_fields())  # type: ignore[arg-type]  # stubs want a wider dict
        sent += 1
        if sent % 500 == 0:
            log.info("demo.sightings", extra={"sent": sent})


# One user per duty, so each can be tried at once: (duty, roles). Approving a watch is the four-eyes
# check of a second, supervising officer (the approver duty, core/duties.py); the three administrators
# (system, security, audit) are separate people.
DEMO_USERS: dict[str, tuple[str, list[str]]] = {
    "demo.officer": ("登记布控 register watches", ["officer"]),
    "demo.approver": ("审批布控 approve watches", ["officer", "approver"]),  # a supervising officer
    "demo.dispatcher": ("接警处置 dispatch alerts", ["dispatcher"]),
    "demo.investigator": ("查询研判 investigate", ["investigator"]),
    "demo.planner": ("卡口规划 plan checkpoints", ["planner"]),
    "demo.admin": ("系统管理 administer", ["admin"]),
    "demo.security": ("安全管理 grant roles", ["security_admin"]),
    "demo.auditor": ("审计 audit", ["auditor"]),
}


def ensure_demo_users(sessions: sessionmaker[Session]) -> dict[str, str]:
    """One user per working role, created once with a random password; returns those created now."""
    created: dict[str, str] = {}
    with sessions() as session:
        for name, (_duty, roles) in DEMO_USERS.items():
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
    """Traffic (and its history at first start), the demo watch on the taxi's plate (in force before its
    first pass), a camera of each pushing kind registered through the registry and played by a simulator
    process, and video feeds if asked."""
    from checkpoint.capture.demo_devices import start_demo_devices
    from checkpoint.watchlist.demo import start_demo_planter

    traffic = threading.Thread(target=run_demo_traffic, name="demo-traffic", daemon=True,
                               args=(bus, sessions, stop, settings.data_dir, settings.timezone))
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
