"""`checkpoint demo`: plant a watch on a busy plate of the generated traffic, so a newcomer sees a hit.

The planted watch skips the four-eyes approval on purpose (there is one admin in a fresh demo); it is
audited as `watch.demo_plant` so it is never mistaken for a real one. Dispatchers without a scope get
the whole network, so whoever logs in as a dispatcher sees the hit.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import audit
from checkpoint.core.db import utcnow
from checkpoint.core.models import User
from checkpoint.passes.models import Pass
from checkpoint.watchlist import index
from checkpoint.watchlist.change_log import record_change
from checkpoint.watchlist.models import DispatcherScope, WatchEntry, WatchStatus

log = logging.getLogger(__name__)
DEMO_REASON = "演示 demo: planted by `checkpoint demo` on a busy plate of the generated traffic"


def busiest_plate(session: Session, lookback: timedelta = timedelta(hours=24)) -> str | None:
    """The plate seen most often lately (a taxi or a commuter): it will pass a checkpoint again soon."""
    return session.scalar(select(Pass.plate).where(Pass.captured_at >= utcnow() - lookback, Pass.plate != "")
                          .group_by(Pass.plate).order_by(func.count().desc()).limit(1))


def plant_demo_watch(sessions: sessionmaker[Session], bus: Redis, plate: str | None = None) -> WatchEntry | None:
    """Watch `plate`, or else the busiest plate (once); None while there is no traffic yet."""
    with sessions() as session:
        plate = plate or busiest_plate(session)
        admin = session.scalar(select(User).where(User.roles.contains(["admin"])).order_by(User.id).limit(1))
        if plate is None or admin is None:
            return None
        found = session.scalar(select(WatchEntry).where(WatchEntry.pattern == plate,
                                                        WatchEntry.status == WatchStatus.active.value))
        if found is not None:
            return found
        now = utcnow()
        entry = WatchEntry(pattern=plate, match_mode="exact", strictness="normal", category="other",
                           reason=DEMO_REASON, priority=2, scope_kind="network", scope_districts=[],
                           scope_checkpoint_ids=[], valid_from=now, valid_to=now + timedelta(days=1),
                           status=WatchStatus.active.value, requested_by=admin.id, created_at=now,
                           submitted_at=now, approved_at=now)
        session.add(entry)
        session.flush()
        audit.record(session, None, "watch.demo_plant", target=f"watch:{entry.id}", reason=DEMO_REASON,
                     actor_name="demo")
        for dispatcher in session.scalars(select(User).where(User.roles.contains(["dispatcher"]))):
            if session.get(DispatcherScope, dispatcher.id) is None:
                session.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[],
                                            checkpoint_ids=[]))
        record_change(session, entry, "plant")
        session.commit()
        index.mirror(bus, session)
    log.info("watchlist.demo_planted", extra={"entry_id": entry.id})
    return entry


def start_demo_planter(sessions: sessionmaker[Session], bus: Redis, stop: threading.Event,
                       every_s: float = 5.0, give_up_s: float = 600.0, plate: str | None = None) -> threading.Thread:
    """Try to plant every few seconds until the generated traffic has passes (or `stop`)."""

    def keep_trying() -> None:
        waited = 0.0
        while not stop.is_set() and waited < give_up_s:
            if plant_demo_watch(sessions, bus, plate) is not None:
                return
            stop.wait(every_s)
            waited += every_s

    thread = threading.Thread(target=keep_trying, name="watchlist-demo-planter", daemon=True)
    thread.start()
    return thread
