"""HitAlert: recording a hit (deduplicated, repeats grouped), its 缉查布控 lifecycle, scopes, statistics.

Lifecycle: new -> signed (签收, overdue after sign_due_s) -> valid or false_read (研判) ->
instructed (拦截指令 to the predicted checkpoints) -> feedback (处置反馈, due feedback_due_h after the
instruction) -> closed. A false read may be closed straight away.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.db import utcnow
from checkpoint.core.errors import Conflict, InvalidInput, NotFound
from checkpoint.core.models import User
from checkpoint.core.settings_groups import WatchlistSettings
from checkpoint.passes.record import PassEvent
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.alert_images import keep_image
from checkpoint.watchlist.lifecycle import STEP_BY_ACTION
from checkpoint.watchlist.models import AlertEvent, AlertStatus, DispatcherScope, HitAlert, WatchHit
from checkpoint.watchlist.schemas import AlertPublic, ScopeUpdate, UnitStats
from checkpoint.watchlist.scope_check import check_dispatcher_scope

log = logging.getLogger(__name__)
ALERTS_STREAM = "checkpoint:alerts"
ALERTS_STREAM_MAXLEN = 100_000
RELAY_CHANNEL = "checkpoint_alert_event"  # PostgreSQL NOTIFY channel the relays LISTEN on
NOTIFY_RELAY = text(f"NOTIFY {RELAY_CHANNEL}")

# the lifecycle's steps (states each follows, the state it leads to) live in lifecycle.STEPS


class AlertNotFound(NotFound):
    reason = "alert-not-found"


class WrongAlertState(Conflict):
    reason = "wrong-alert-state"


@dataclass(frozen=True)
class Hit:
    """A pass matched by a watch, as the matcher found it (the watch's fields, for the alert's list)."""

    event: PassEvent
    entry_id: int
    why: str
    district: str
    priority: int = 2
    pattern: str = ""
    match_mode: str = ""
    category: str = ""

    def watch(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "pattern": self.pattern, "match_mode": self.match_mode,
                "category": self.category, "priority": self.priority, "why": self.why[:128]}


@dataclass(frozen=True)
class Recorded:
    alert: HitAlert
    new_alert: bool  # False: a repeat joined an open alert
    to_push: bool  # False: this pass was stored before on these watches (redelivered): nothing to tell
    kind: str = "new"  # the event to queue: new, repeat, or update (a redelivered pass hit one more watch)


def record_hit(session: Session, hit: Hit, settings: WatchlistSettings,
               predicted: list[dict[str, object]] | None = None, data_dir: Path | None = None) -> Recorded:
    """One watch's hit: record_pass with that hit alone."""
    return record_pass(session, [hit], settings, predicted, data_dir)


def record_pass(session: Session, hits: list[Hit], settings: WatchlistSettings,
                predicted: list[dict[str, object]] | None = None, data_dir: Path | None = None) -> Recorded:
    """Store one pass's hits (one per watch it matched, at least one) as ONE alert: a new one, or the
    vehicle's open alert within the grouping window, which then follows it (last checkpoint, position,
    images and the predictions from there, `predicted` being those of this pass). Each (pass, watch) is
    stored once, so a redelivered pass changes nothing.

    Images are kept under data_dir/alerts/ (alert_images.py), beyond pass retention; any that cannot be
    kept now (disk full, folder unwritable) are left in `images_pending` for the relay to retry. The
    caller queues the event (queue_event, kind `Recorded.kind`) in this same transaction.
    """
    ordered = sorted({hit.entry_id: hit for hit in hits}.values(), key=lambda h: (h.priority, h.entry_id))
    first_hit = ordered[0]
    captured = first_hit.event.captured
    known = {row.entry_id: row.alert_id for row in session.scalars(
        select(WatchHit).where(WatchHit.pass_id == captured.pass_id,
                               WatchHit.entry_id.in_([hit.entry_id for hit in ordered])))}
    fresh = [hit for hit in ordered if hit.entry_id not in known]
    if known:  # a redelivered pass: its alert exists; tell only of watches it now hits as well
        alert = session.get(HitAlert, next(iter(known.values())), with_for_update=True)
        assert alert is not None
        if not fresh:
            return Recorded(alert, new_alert=False, to_push=False, kind="repeat")  # queued the first time
        _add_watches(alert, fresh)
        return Recorded(alert, new_alert=False, to_push=_store_hits(session, alert, fresh), kind="update")
    window_start = captured.captured_at - timedelta(seconds=settings.group_window_s)
    alert = session.scalar(
        select(HitAlert)
        .where(HitAlert.plate == captured.plate, HitAlert.last_seen_at >= window_start,
               HitAlert.status != AlertStatus.closed.value)
        .order_by(HitAlert.last_seen_at.desc()).limit(1).with_for_update()
    )
    checkpoint = session.get(Checkpoint, captured.checkpoint_id)
    code, name = (checkpoint.code, checkpoint.name) if checkpoint is not None else ("", "")
    if alert is not None:
        if not _store_hits(session, alert, fresh):  # another matcher stored this pass meanwhile
            return Recorded(alert, new_alert=False, to_push=False, kind="repeat")
        alert.hit_count += 1
        _add_watches(alert, fresh)
        if captured.captured_at >= alert.last_seen_at:  # the car moved on: the alert follows it
            _follow(alert, first_hit.event, code, name, predicted, data_dir)
        return Recorded(alert, new_alert=False, to_push=True, kind="repeat")
    now = utcnow()
    images = kept_images(data_dir, {"scene": captured.image_path, "plate": captured.plate_image_path})
    alert = HitAlert(
        entry_id=first_hit.entry_id, watches=[hit.watch() for hit in ordered], pass_id=captured.pass_id,
        plate=captured.plate, checkpoint_id=captured.checkpoint_id, checkpoint_code=code, checkpoint_name=name,
        district=first_hit.district, captured_at=captured.captured_at, last_pass_id=captured.pass_id,
        last_checkpoint_id=captured.checkpoint_id, last_checkpoint_code=code, last_checkpoint_name=name,
        last_lat=first_hit.event.lat, last_lon=first_hit.event.lon, last_seen_at=captured.captured_at,
        hit_count=1, why=first_hit.why[:128], lat=first_hit.event.lat, lon=first_hit.event.lon,
        image_path=images.kept.get("scene"), plate_image_path=images.kept.get("plate"),
        images_pending=images.pending or None, predicted=predicted or [], status=AlertStatus.new.value,
        created_at=now, sign_due_at=now + timedelta(seconds=settings.sign_due_s),
    )
    session.add(alert)
    if not _store_hits(session, alert, fresh):  # another matcher stored this pass meanwhile: its alert stands
        session.delete(alert)
        session.flush()
        return Recorded(alert, new_alert=False, to_push=False, kind="new")
    return Recorded(alert, new_alert=True, to_push=True, kind="new")


def _follow(alert: HitAlert, event: PassEvent, code: str, name: str, predicted: list[dict[str, object]] | None,
            data_dir: Path | None) -> None:
    """Move the alert to the vehicle's newest pass: where, when, its images, the predictions from there."""
    captured = event.captured
    images = kept_images(data_dir, {"last_scene": captured.image_path, "last_plate": captured.plate_image_path})
    alert.last_pass_id, alert.last_seen_at = captured.pass_id, captured.captured_at
    alert.last_checkpoint_id = captured.checkpoint_id
    alert.last_checkpoint_code, alert.last_checkpoint_name = code, name
    alert.last_lat, alert.last_lon = event.lat, event.lon
    alert.last_image_path = images.kept.get("last_scene")
    alert.last_plate_image_path = images.kept.get("last_plate")
    earlier = {kind: path for kind, path in (alert.images_pending or {}).items() if not kind.startswith("last_")}
    alert.images_pending = {**earlier, **images.pending} or None
    alert.predicted = list(predicted or [])


def _add_watches(alert: HitAlert, hits: list[Hit]) -> None:
    """List watches the alert did not name yet, keeping the most urgent first."""
    listed = {int(watch["entry_id"]) for watch in alert.watches or []}
    added = [hit.watch() for hit in hits if hit.entry_id not in listed]
    if added:  # a new list object: JSONB columns notice assignment, not mutation
        alert.watches = sorted([*(alert.watches or []), *added], key=lambda w: (w["priority"], w["entry_id"]))


def _store_hits(session: Session, alert: HitAlert, hits: list[Hit]) -> bool:
    """Store each (pass, watch) for the alert; False if every one was stored already (by another matcher
    that took the same pass over and committed first): then there is nothing to tell."""
    session.flush()
    stored = False
    for hit in hits:
        stored |= session.execute(
            insert(WatchHit).values(pass_id=hit.event.captured.pass_id, entry_id=hit.entry_id, alert_id=alert.id,
                                    captured_at=hit.event.captured.captured_at, pushed=True)
            .on_conflict_do_nothing().returning(WatchHit.alert_id)).first() is not None
    return stored


@dataclass(frozen=True)
class KeptImages:
    kept: dict[str, str]  # kind -> the alert's own path
    pending: dict[str, str]  # kind -> the pass image still to keep


def kept_images(data_dir: Path | None, sources: dict[str, str | None]) -> KeptImages:
    """Keep each pass image for the alert; one that cannot be written now is left pending, never fatal."""
    kept: dict[str, str] = {}
    pending: dict[str, str] = {}
    if data_dir is None:
        return KeptImages(kept, pending)
    for kind, source in sources.items():
        if not source:
            continue
        try:
            if (path := keep_image(data_dir, source)) is not None:
                kept[kind] = path
        except OSError as exc:
            pending[kind] = source
            log.warning("watchlist.alert_image_pending", extra={"kind": kind, "error": str(exc)[:200]})
    return KeptImages(kept, pending)


def alert_body(alert: HitAlert) -> str:
    """The alert as the consoles and the platform get it (JSON)."""
    return json.dumps(AlertPublic.model_validate(alert).model_dump(mode="json"), ensure_ascii=False)


def queue_event(session: Session, alert: HitAlert, kind: str, source: str = "") -> AlertEvent:
    """Tell dispatchers about `alert` once the caller's transaction commits: an outbox row the relay
    publishes (relay.py). Call it after the alert's changes are flushed, in their transaction."""
    session.flush()
    event = AlertEvent(alert_id=alert.id, kind=kind, district=alert.district, checkpoint_id=alert.checkpoint_id,
                       source=source[:128], body=alert_body(alert), created_at=utcnow())
    session.add(event)
    session.execute(NOTIFY_RELAY)  # delivered at commit (once per transaction): relays wake at once
    return event


def event_fields(event: AlertEvent) -> dict[Any, Any]:
    """The `checkpoint:alerts` entry: the event id, routing fields for the scope filter, the alert JSON."""
    return {"event_id": str(event.event_id), "kind": event.kind, "alert_id": str(event.alert_id),
            "district": event.district, "source": event.source, "checkpoint_id": str(event.checkpoint_id),
            "alert": event.body}


# --- scopes --------------------------------------------------------------------------------------


def scope_of(session: Session, user_id: int) -> DispatcherScope:
    """A dispatcher's scope; one never set covers nothing (an admin assigns it)."""
    return session.get(DispatcherScope, user_id) or DispatcherScope(user_id=user_id, whole_network=False,
                                                                    districts=[], checkpoint_ids=[])


def set_scope(session: Session, admin: User, target: User, change: ScopeUpdate) -> DispatcherScope:
    check_dispatcher_scope(session, target, change.districts, change.checkpoint_ids)
    scope = session.get(DispatcherScope, target.id)
    if scope is None:
        scope = DispatcherScope(user_id=target.id)
        session.add(scope)
    scope.whole_network = change.whole_network
    scope.districts = sorted(set(change.districts))
    scope.checkpoint_ids = sorted(set(change.checkpoint_ids))
    audit.record(session, admin, "watch.scope", target=f"user:{target.id}",
                 detail=change.model_dump())
    session.flush()
    return scope


def in_scope(scope: DispatcherScope, district: str, checkpoint_id: int) -> bool:
    return scope.whole_network or district in scope.districts or checkpoint_id in scope.checkpoint_ids


def list_alerts(session: Session, scope: DispatcherScope, limit: int = 100,
                open_only: bool = False, before_id: int | None = None) -> list[HitAlert]:
    query = select(HitAlert).order_by(HitAlert.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(HitAlert.id < before_id)
    if not scope.whole_network:
        query = query.where(HitAlert.district.in_(scope.districts) | HitAlert.checkpoint_id.in_(scope.checkpoint_ids))
    if open_only:
        query = query.where(HitAlert.status != AlertStatus.closed.value)
    return list(session.scalars(query))


def get_alert(session: Session, scope: DispatcherScope, alert_id: int) -> HitAlert:
    alert = session.get(HitAlert, alert_id)
    if alert is None or not in_scope(scope, alert.district, alert.checkpoint_id):
        raise AlertNotFound(f"alert {alert_id} does not exist or is outside your scope")
    return alert


# --- lifecycle -----------------------------------------------------------------------------------


def act(session: Session, dispatcher: User, alert: HitAlert, action: str, note: str,
        settings: WatchlistSettings, now: datetime | None = None) -> HitAlert:
    """Move an alert one step along its lifecycle; the step and its note go to the audit log."""
    if (step := STEP_BY_ACTION.get(action)) is None:
        raise InvalidInput(f"unknown action {action}; actions are {', '.join(STEP_BY_ACTION)}")
    if AlertStatus(alert.status) not in step.follows:
        raise WrongAlertState(f"alert {alert.id} is {alert.status}; '{action}' follows "
                              f"{' or '.join(sorted(state.value for state in step.follows))}")
    if step.note_required and not note.strip():
        raise InvalidInput(f"'{action}' needs a text: the instruction or the outcome")
    moment = now or utcnow()
    if action == "sign":
        alert.signed_at, alert.signed_by, alert.signed_unit = moment, dispatcher.id, dispatcher.unit or "-"
    elif action in ("valid", "false_read"):
        alert.judged_at = moment
    elif action == "instruct":
        alert.instructed_at, alert.instruction = moment, note.strip()
        alert.feedback_due_at = moment + timedelta(hours=settings.feedback_due_h)
    elif action == "feedback":
        alert.feedback_at, alert.feedback = moment, note.strip()
    else:
        alert.closed_at = moment
    alert.status = step.leads_to.value
    audit.record(session, dispatcher, f"alert.{action}", target=f"alert:{alert.id}", reason=note or None)
    session.flush()
    return alert


def unit_stats(session: Session) -> list[UnitStats]:
    """Per signing unit: alerts signed, signed within the deadline, feedback given, feedback on time."""
    on_time_sign = func.count().filter(HitAlert.signed_at <= HitAlert.sign_due_at)
    feedback = func.count(HitAlert.feedback_at)
    on_time_feedback = func.count().filter(HitAlert.feedback_at <= HitAlert.feedback_due_at)
    rows = session.execute(
        select(func.coalesce(HitAlert.signed_unit, "(unsigned)"), func.count(), func.count(HitAlert.signed_at),
               on_time_sign, feedback, on_time_feedback)
        .group_by(func.coalesce(HitAlert.signed_unit, "(unsigned)"))
    ).all()
    return [UnitStats(unit=row[0], alerts=row[1], signed=row[2], signed_on_time=row[3], feedback=row[4],
                      feedback_on_time=row[5]) for row in rows]
