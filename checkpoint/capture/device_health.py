"""The health monitor: every pushing device's state from when it was last heard, and outages of devices and feeds.

A device (smart, snapshot, GA/T 1400) is online while it was heard (device_seen.py: pushes,
keepalives, registrations) within IntakeSettings.outage_after_s, offline after; each change is a
DeviceStateChange row, dated when it really happened (the last time it was heard, or the first time
again), so online rates over any window come from PostgreSQL. A device or video feed silent
longer than outage_after_s opens a DeviceOutage, closed when it is back; the webhook is told of
both, once each, retried until it answers 2xx (a restart tells it what it had not been told).
One monitor at a time does the work (a PostgreSQL advisory lock), however many processes run it.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture.device_seen import read_seen
from checkpoint.capture.models import Device, DeviceOutage, DeviceStateChange
from checkpoint.capture.video.status import feed_key
from checkpoint.core.db import utcnow
from checkpoint.core.settings_groups import IntakeSettings
from checkpoint.sites.models import Checkpoint, Feed

log = logging.getLogger(__name__)

MONITOR_LOCK = 0x17_4EA1  # pg advisory lock key: one monitor step at a time across processes
VIDEO_KINDS = ("rtsp", "http", "file")


@dataclass(frozen=True)
class StepResult:
    went_offline: list[int]
    came_back: list[int]
    outages_opened: int
    outages_closed: int
    notified: int


def last_states(session: Session, device_ids: list[int]) -> dict[int, tuple[str, datetime]]:
    """Each device's latest recorded state and when it began."""
    if not device_ids:
        return {}
    rows = session.execute(
        select(DeviceStateChange.device_id, DeviceStateChange.state, DeviceStateChange.changed_at)
        .where(DeviceStateChange.device_id.in_(device_ids))
        .ext(distinct_on(DeviceStateChange.device_id))
        .order_by(DeviceStateChange.device_id, DeviceStateChange.changed_at.desc(), DeviceStateChange.id.desc())).all()
    return {device_id: (state, at) for device_id, state, at in rows}


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def step(session: Session, bus: Redis, intake: IntakeSettings, now: datetime | None = None) -> StepResult | None:
    """One look at every device and feed (the caller commits); None when another monitor holds the lock."""
    if not session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": MONITOR_LOCK}).scalar():
        return None
    now = now or utcnow()
    silent_after = timedelta(seconds=intake.outage_after_s)
    devices = session.execute(select(Device.id, Device.created_at)
                              .join(Checkpoint, Checkpoint.id == Device.checkpoint_id)
                              .where(Device.active.is_(True), Checkpoint.active.is_(True))).all()
    heard = read_seen(bus, [device_id for device_id, _ in devices])
    before = last_states(session, [device_id for device_id, _ in devices])
    # open outages by subject: a device's id, a feed's id negated
    open_outages = {row.device_id if row.device_id is not None else -(row.feed_id or 0): row
                    for row in session.scalars(select(DeviceOutage).where(DeviceOutage.ended_at.is_(None)))}
    offline, back, opened, closed = [], [], 0, 0
    for device_id, created_at in devices:
        last_seen = _parse(heard[device_id].get("last_seen"))
        state = "online" if last_seen is not None and now - last_seen <= silent_after else "offline"
        previous = before.get(device_id, ("unknown", created_at))[0]
        if state == previous or (state == "offline" and now - created_at <= silent_after and last_seen is None):
            continue  # unchanged, or a new device not yet given time to speak
        changed_at = last_seen or created_at
        session.add(DeviceStateChange(device_id=device_id, state=state, changed_at=changed_at,
                                      error="" if state == "online" else f"无数据超过 {int(intake.outage_after_s)} 秒"))
        if state == "offline":
            offline.append(device_id)
            if device_id not in open_outages:
                session.add(DeviceOutage(device_id=device_id, started_at=changed_at, last_seen=last_seen))
                opened += 1
        else:
            back.append(device_id)
            if (outage := open_outages.get(device_id)) is not None:
                outage.ended_at, outage.last_seen = changed_at, last_seen
                closed += 1
    feed_opened, feed_closed = _feed_outages(session, bus, now, silent_after, open_outages)
    session.flush()
    notified = notify(session, intake.outage_webhook_url)
    return StepResult(offline, back, opened + feed_opened, closed + feed_closed, notified)


def _feed_outages(session: Session, bus: Redis, now: datetime, silent_after: timedelta,
                  open_outages: dict[int, DeviceOutage]) -> tuple[int, int]:
    """Video feeds keep their own state (capture/video/status.py); only their outages are opened here."""
    feed_ids = list(session.scalars(select(Feed.id).where(Feed.enabled.is_(True), Feed.kind.in_(VIDEO_KINDS))))
    pipe = bus.pipeline(transaction=False)
    for feed_id in feed_ids:
        pipe.hgetall(feed_key(feed_id))
    opened = closed = 0
    for feed_id, status in zip(feed_ids, pipe.execute(), strict=True):
        if not status:
            continue  # never ran: capture is not running it, nothing to say about the camera
        down_since = _parse(status.get("offline_since"))
        outage = open_outages.get(-feed_id)
        if status.get("state") == "online" and outage is not None:
            outage.ended_at = _parse(status.get("last_frame_at")) or now
            closed += 1
        elif status.get("state") != "online" and down_since and now - down_since > silent_after and outage is None:
            session.add(DeviceOutage(feed_id=feed_id, started_at=down_since,
                                     last_seen=_parse(status.get("last_frame_at"))))
            opened += 1
    return opened, closed


def notify(session: Session, webhook_url: str | None, timeout_s: float = 3.0) -> int:
    """Tell the webhook of every outage start and end not told yet; without a webhook they count as told."""
    pending = list(session.scalars(select(DeviceOutage).where(
        (DeviceOutage.started_notified.is_(False)) | (DeviceOutage.ended_at.is_not(None)
                                                      & DeviceOutage.ended_notified.is_(False)))
        .order_by(DeviceOutage.id).limit(200)))
    told = 0
    for outage in pending:
        event = "ended" if outage.started_notified else "started"
        if webhook_url and not _post(webhook_url, outage_event(session, outage, event), timeout_s):
            break  # the webhook is away: the rest waits for the next step, in order
        if event == "started":
            outage.started_notified = True
            if outage.ended_at is not None and not webhook_url:
                outage.ended_notified = True
        else:
            outage.ended_notified = True
        told += 1
    return told


def outage_event(session: Session, outage: DeviceOutage, event: str) -> dict[str, object]:
    """What the webhook receives: which camera, where, since when, and whether it is over."""
    if outage.device_id is not None:
        device = session.get(Device, outage.device_id)
        subject: dict[str, object] = {"device_code": device.code if device else None,
                                      "kind": device.kind if device else None}
        checkpoint_id = device.checkpoint_id if device else None
    else:
        feed = session.get(Feed, outage.feed_id)
        subject = {"feed_id": outage.feed_id, "kind": feed.kind if feed else None, "lane": feed.lane if feed else None}
        checkpoint_id = feed.checkpoint_id if feed else None
    code = session.scalar(select(Checkpoint.code).where(Checkpoint.id == checkpoint_id)) if checkpoint_id else None
    return {"type": "device.outage", "event": event, "outage_id": outage.id, "checkpoint": code, **subject,
            "started_at": outage.started_at.isoformat(),
            "ended_at": outage.ended_at.isoformat() if outage.ended_at else None,
            "title": f"设备{'恢复' if event == 'ended' else '离线'}: {code} {subject.get('device_code') or subject}"}


def _post(url: str, body: dict[str, object], timeout_s: float) -> bool:
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310  # the site's own URL
            return 200 <= int(response.status) < 300
    except OSError as exc:
        log.warning("capture.outage_webhook_failed", extra={"error": type(exc).__name__})
        return False


def open_outage_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DeviceOutage).where(DeviceOutage.ended_at.is_(None)))
               or 0)


def run(sessions: sessionmaker[Session], bus: Redis, intake: IntakeSettings, stop: threading.Event) -> None:
    """The monitor loop `serve` runs (a supervised thread)."""
    while not stop.wait(intake.health_every_s):
        with sessions() as session:
            result = step(session, bus, intake)
            session.commit()
        if result and (result.went_offline or result.came_back or result.outages_opened or result.outages_closed):
            log.info("capture.device_health", extra={"offline": result.went_offline, "back": result.came_back,
                                                     "outages_opened": result.outages_opened,
                                                     "outages_closed": result.outages_closed})
