"""在线率 and 完好率 of every camera, per checkpoint, district and network, over any window (not only ending now).

在线率 (online rate): the share of the window a camera was online (a device registered within the
window: of the part since), from its state history in
PostgreSQL (DeviceStateChange for pushing devices, FeedStateChange and the feed stream for video
feeds); averaged over the cameras of a checkpoint, district or the network.
完好率 (intact rate): the share of cameras working correctly over the window: online at least
IntakeSettings.intact_online_share of it, and a plate read on at least intact_read_share of its
passes (a read is a whole plate, 7 or more characters; a camera without passes in the window is
judged on being online alone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from checkpoint.capture.device_seen import read_seen
from checkpoint.capture.feed_status import feed_health, online_share
from checkpoint.capture.models import Device, DeviceOutage, DeviceStateChange
from checkpoint.core.settings_groups import IntakeSettings
from checkpoint.passes.models import Pass
from checkpoint.sites.models import Checkpoint, Feed

READ_PLATE_CHARS = 7


@dataclass(frozen=True)
class CameraHealth:
    kind: str  # rtsp, http, file, smart, snapshot, gat1400
    key: str  # device:<code> or feed:<id>
    name: str
    checkpoint_code: str
    district: str
    state: str  # online, degraded (online, too few plates read), offline, unknown (never heard), a feed's own
    last_seen: str
    last_pass_at: str
    last_error: str
    online_rate: float
    passes: int
    read_share: float | None  # None: no passes in the window
    intact: bool


@dataclass(frozen=True)
class Rates:
    cameras: int
    online_rate: float | None
    intact_rate: float | None


def device_histories(session: Session, device_ids: list[int], until: datetime) -> dict[int, list[tuple[datetime, str]]]:
    rows = session.execute(select(DeviceStateChange.device_id, DeviceStateChange.changed_at, DeviceStateChange.state)
                           .where(DeviceStateChange.device_id.in_(device_ids), DeviceStateChange.changed_at < until)
                           .order_by(DeviceStateChange.changed_at, DeviceStateChange.id)).all()
    histories: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for device_id, at, state in rows:
        histories[device_id].append((at, state))
    return histories


def pass_counts(session: Session, column: str, ids: list[int], since: datetime,
                until: datetime) -> dict[int, tuple[int, int]]:
    """(passes, passes with a whole plate read) per device or feed in the window."""
    if not ids:
        return {}
    owner = getattr(Pass, column)
    rows = session.execute(
        select(owner, func.count(), func.sum(case((func.char_length(Pass.plate) >= READ_PLATE_CHARS, 1), else_=0)))
        .where(owner.in_(ids), Pass.captured_at >= since, Pass.captured_at < until).group_by(owner)).all()
    return {owner_id: (int(total), int(read or 0)) for owner_id, total, read in rows}


def _shown_state(state: str, share: float | None, intake: IntakeSettings) -> str:
    """online, but reading too few whole plates: degraded."""
    return "degraded" if state == "online" and share is not None and share < intake.intact_read_share else state


def _intact(online_rate: float, passes: int, read: int, intake: IntakeSettings) -> tuple[bool, float | None]:
    share = read / passes if passes else None
    ok = online_rate >= intake.intact_online_share and (share is None or share >= intake.intact_read_share)
    return ok, share


def camera_health(session: Session, bus: Redis, since: datetime, until: datetime,
                  intake: IntakeSettings) -> list[CameraHealth]:
    """Every active pushing device and enabled video feed, with its state now and its rates over [since, until)."""
    devices = session.execute(
        select(Device.id, Device.code, Device.name, Device.kind, Checkpoint.code, Checkpoint.district_name,
               Device.created_at)
        .join(Checkpoint, Checkpoint.id == Device.checkpoint_id)
        .where(Device.active.is_(True), Checkpoint.active.is_(True)).order_by(Checkpoint.code, Device.code)).all()
    ids = [row[0] for row in devices]
    histories = device_histories(session, ids, until)
    heard = read_seen(bus, ids)
    counts = pass_counts(session, "device_id", ids, since, until)
    cameras = []
    for device_id, code, name, kind, cp_code, district, created_at in devices:
        history = histories.get(device_id, [])
        start = min(max(since, created_at), until - timedelta(seconds=1))  # not counted down before it existed
        before = [state for at, state in history if at < start]
        rate = round(online_share(history, before[-1] if before else "unknown", start, until), 4)
        passes, read = counts.get(device_id, (0, 0))
        intact, share = _intact(rate, passes, read, intake)
        status = heard[device_id]
        cameras.append(CameraHealth(kind, f"device:{code}", name or code, cp_code, district,
                                    _shown_state(history[-1][1] if history else "unknown", share, intake),
                                    status.get("last_seen", ""),
                                    status.get("last_pass_at", ""), status.get("last_error", ""), rate, passes,
                                    None if share is None else round(share, 4), intact))
    feeds = feed_health(session, bus, since, until)
    feed_rows = {row[0]: row[1:] for row in session.execute(
        select(Feed.id, Feed.name, Checkpoint.district_name).join(Checkpoint, Checkpoint.id == Feed.checkpoint_id))}
    feed_counts = pass_counts(session, "feed_id", [row.feed_id for row in feeds], since, until)
    for row in feeds:
        passes, read = feed_counts.get(row.feed_id, (0, 0))
        intact, share = _intact(row.online_rate, passes, read, intake)
        name, district = feed_rows.get(row.feed_id, ("", ""))
        cameras.append(CameraHealth(row.kind, f"feed:{row.feed_id}", name or f"{row.checkpoint_code} 车道{row.lane}",
                                    row.checkpoint_code, district, _shown_state(row.state, share, intake), "", "",
                                    row.last_error, row.online_rate,
                                    passes, None if share is None else round(share, 4), intact))
    return cameras


def rates(cameras: Sequence[CameraHealth]) -> Rates:
    if not cameras:
        return Rates(0, None, None)
    return Rates(len(cameras), round(sum(c.online_rate for c in cameras) / len(cameras), 4),
                 round(sum(c.intact for c in cameras) / len(cameras), 4))


def rates_by(cameras: Sequence[CameraHealth], attribute: str) -> dict[str, Rates]:
    groups: dict[str, list[CameraHealth]] = defaultdict(list)
    for camera in cameras:
        groups[getattr(camera, attribute)].append(camera)
    return {key: rates(group) for key, group in sorted(groups.items())}


def open_outages(session: Session) -> list[dict[str, object]]:
    """Outages not over yet, newest first, with the camera they are of."""
    rows = session.execute(
        select(DeviceOutage, Device.code, Device.kind, Feed.kind, Feed.lane, Checkpoint.code)
        .outerjoin(Device, Device.id == DeviceOutage.device_id).outerjoin(Feed, Feed.id == DeviceOutage.feed_id)
        .join(Checkpoint, Checkpoint.id == func.coalesce(Device.checkpoint_id, Feed.checkpoint_id))
        .where(DeviceOutage.ended_at.is_(None)).order_by(DeviceOutage.started_at.desc())).all()
    return [{"id": outage.id, "camera": f"device:{code}" if code else f"feed:{outage.feed_id}",
             "kind": device_kind or feed_kind, "lane": lane, "checkpoint_code": cp_code,
             "started_at": outage.started_at.isoformat(), "webhook_told": outage.started_notified}
            for outage, code, device_kind, feed_kind, lane, cp_code in rows]
