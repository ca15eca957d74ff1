"""Scrape-time gauges of the camera side: video feeds by their state now, registered devices by kind.

Feed states are what the capture processes last wrote to Redis (capture/video/status.py); pushing
cameras have no heartbeat, so they are counted as registered and enabled, not as online.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prometheus_client.core import Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoint.capture.feed_status import VIDEO_KINDS
from checkpoint.capture.models import Device
from checkpoint.capture.video.status import feed_key
from checkpoint.core.bus import Bus
from checkpoint.core.db import Database
from checkpoint.core.metrics import gauge
from checkpoint.sites.models import Feed


def device_metrics() -> Iterable[Metric]:
    if Database.engine is None:
        return []
    with Session(Database.engine) as session:
        devices = session.execute(select(Device.kind, Device.active, func.count()).group_by(Device.kind,
                                                                                            Device.active)).all()
        feed_ids = list(session.scalars(select(Feed.id).where(Feed.enabled.is_(True), Feed.kind.in_(VIDEO_KINDS))))
    found = [gauge("checkpoint_devices", "Registered pushing cameras by kind and whether enabled",
                   ["kind", "enabled"], [([kind, str(active).lower()], count) for kind, active, count in devices])]
    if Bus.client is not None and feed_ids:
        pipe = Bus.client.pipeline(transaction=False)
        for feed_id in feed_ids:
            pipe.hget(feed_key(feed_id), "state")
        states = Counter(state or "unknown" for state in pipe.execute())
        found.append(gauge("checkpoint_video_feeds", "Enabled video feeds by their state now (online, offline, ...)",
                           ["state"], [([state], count) for state, count in sorted(states.items())]))
    return found
