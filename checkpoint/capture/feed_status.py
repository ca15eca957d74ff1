"""Feed health over time: online rate (在线率) and intact rate (完好率) from capture's status records.

Each feed worker keeps its current state in the hash `checkpoint:feed:{id}` and appends every
change to `checkpoint:feed_events`, which feed_history copies into PostgreSQL. Rates read both
(PostgreSQL for what Redis may have lost, the stream for what is not copied yet); the state
now is the hash's, else the last stored change. The online rate of a feed over a window is the share of the
window it spent online; the intact rate of the network is the share of enabled video feeds that
are online now. A checkpoint counts as up when any of its video feeds is online.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture.feed_history import StateChange, stored_changes
from checkpoint.capture.video.status import FEED_EVENTS_STREAM, feed_key
from checkpoint.sites.models import Checkpoint, Feed

VIDEO_KINDS = ("rtsp", "http", "file")


def online_share(changes: Sequence[StateChange], state_before: str, since: datetime, until: datetime) -> float:
    """The share of [since, until) spent online, given the state at `since` and the changes after it."""
    total = (until - since).total_seconds()
    if total <= 0:
        raise ValueError("the window must end after it starts")
    online_s, state, at = 0.0, state_before, since
    for changed_at, new_state in sorted(changes):
        if changed_at < since:
            state = new_state
            continue
        if changed_at >= until:
            break
        if state == "online":
            online_s += (changed_at - at).total_seconds()
        state, at = new_state, changed_at
    if state == "online":
        online_s += (until - at).total_seconds()
    return online_s / total


def read_changes(bus: Redis, until: datetime) -> dict[int, list[StateChange]]:
    """Every recorded state change up to `until`, per feed, oldest first."""
    end_id = str(int(until.timestamp() * 1000))  # an id without sequence ends at that millisecond's last entry
    changes: dict[int, list[StateChange]] = {}
    entries: list[tuple[str, dict[str, str]]] = bus.xrange(FEED_EVENTS_STREAM, "-", end_id)  # type: ignore[assignment]
    for _entry_id, fields in entries:
        changes.setdefault(int(fields["feed_id"]), []).append((datetime.fromisoformat(fields["at"]),
                                                                 fields["state"]))
    return changes


@dataclass(frozen=True)
class FeedHealthRow:
    feed_id: int
    checkpoint_code: str
    lane: int
    kind: str
    state: str  # the current state: online, offline, failed, starting, ended, or "unknown" (never ran)
    last_error: str
    online_rate: float  # share of the window spent online


def feed_health(session: Session, bus: Redis, since: datetime, until: datetime) -> list[FeedHealthRow]:
    """Every enabled video feed with its state now and its online rate over the window."""
    rows = session.execute(select(Feed.id, Checkpoint.code, Feed.lane, Feed.kind)
                           .join(Checkpoint, Checkpoint.id == Feed.checkpoint_id)
                           .where(Feed.enabled.is_(True), Feed.kind.in_(VIDEO_KINDS)).order_by(Feed.id)).all()
    in_redis = read_changes(bus, until)
    in_postgres = stored_changes(session, [row[0] for row in rows], until)
    pipe = bus.pipeline(transaction=False)
    for feed_id, *_ in rows:
        pipe.hgetall(feed_key(feed_id))
    report = []
    for (feed_id, code, lane, kind), status in zip(rows, pipe.execute(), strict=True):
        history = sorted(set(in_postgres.get(feed_id, [])) | set(in_redis.get(feed_id, [])))
        before = [state for at, state in history if at < since]
        rate = online_share(history, before[-1] if before else "unknown", since, until)
        state = status.get("state") or (history[-1][1] if history else "unknown")
        report.append(FeedHealthRow(feed_id, code, lane, kind, state, status.get("last_error", ""), round(rate, 4)))
    return report


def checkpoint_states(rows: Sequence[FeedHealthRow]) -> dict[str, str]:
    """Per checkpoint code: "online" when any video feed is online, else "offline"."""
    states: dict[str, str] = {}
    for row in rows:
        if row.state == "online" or states.get(row.checkpoint_code) == "online":
            states[row.checkpoint_code] = "online"
        else:
            states[row.checkpoint_code] = "offline"
    return states
