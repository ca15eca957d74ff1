"""Dispatcher routes: alerts in scope, the live Server-Sent Events stream, lifecycle steps, statistics.

The SSE stream itself is in live_stream.py: ids are the alert outbox's event ids, and a console that
reconnects with Last-Event-ID gets every event after it, replayed from PostgreSQL.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from checkpoint.core import audit
from checkpoint.core.deps import BusDep, SessionDep, SettingsDep, client_ip, require_roles
from checkpoint.core.errors import NotFound
from checkpoint.core.limits import DbId
from checkpoint.core.models import Role, User
from checkpoint.core.users import get as get_user
from checkpoint.watchlist import alerts, webhook
from checkpoint.watchlist.alert_images import alert_image_file
from checkpoint.watchlist.lifecycle import LifecyclePublic, lifecycle
from checkpoint.watchlist.live_stream import EventReaderDep, live_events, parse_event_id
from checkpoint.watchlist.models import IMAGE_COLUMNS, DispatcherScope, HitAlert, WebhookDelivery
from checkpoint.watchlist.relay import latest_event_id
from checkpoint.watchlist.schemas import (
    AlertAction,
    AlertPublic,
    ScopePublic,
    ScopeUpdate,
    UnitStats,
    WebhookDeliveryPublic,
)

router = APIRouter()
Dispatcher = Annotated[User, Depends(require_roles(Role.dispatcher))]
Admin = Annotated[User, Depends(require_roles(Role.admin))]
DeliveryViewer = Annotated[User, Depends(require_roles(Role.admin, Role.dispatcher))]


class AlertImageNotFound(NotFound):
    reason = "no-image"


@router.get("/alerts", response_model=list[AlertPublic])
def list_alerts(dispatcher: Dispatcher, session: SessionDep, open_only: bool = False,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                before_id: Annotated[DbId | None, Query(description="the last id of the previous page")] = None,
                ) -> list[HitAlert]:
    """The newest alerts at checkpoints in the dispatcher's scope, one page."""
    return alerts.list_alerts(session, alerts.scope_of(session, dispatcher.id), limit, open_only, before_id)


@router.get("/alerts/stream")
def stream_alerts(dispatcher: Dispatcher, session: SessionDep, bus: BusDep, open_session: EventReaderDep,
                  last_event_id: Annotated[str | None, Header()] = None, since: str | None = None) -> StreamingResponse:
    """text/event-stream of alerts in scope: every event after Last-Event-ID (or `since`), replayed from
    PostgreSQL, then live ones; from now without either. Event ids are the outbox's event ids."""
    scope = alerts.scope_of(session, dispatcher.id)
    start = parse_event_id(last_event_id or since)
    if start is None:
        start = latest_event_id(session)  # "now", fixed before the client is answered
    session.close()  # the stream may stay open for hours: hold no database connection
    return StreamingResponse(live_events(bus, open_session, scope, start),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/alerts/{alert_id}/action", response_model=AlertPublic)
def act_on_alert(alert_id: int, body: AlertAction, dispatcher: Dispatcher, session: SessionDep,
                 settings: SettingsDep) -> HitAlert:
    """One lifecycle step (sign, valid, false_read, instruct, feedback, close); others' consoles update
    (the event is queued in the step's transaction and published by the relay)."""
    alert = alerts.get_alert(session, alerts.scope_of(session, dispatcher.id), alert_id)
    alerts.act(session, dispatcher, alert, body.action, body.note, settings.watchlist)
    alerts.queue_event(session, alert, "update", f"user:{dispatcher.id}")
    session.commit()
    return alert


@router.get("/alerts/{alert_id}/images/{kind}", response_class=FileResponse)
def alert_image(alert_id: int, kind: Literal["scene", "plate", "last_scene", "last_plate"], dispatcher: Dispatcher,
                request: Request, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """An alert's own copy of its pass image (kept after the pass itself has expired), in scope only: the
    first hit's (scene, plate) or the latest repeat's (last_scene, last_plate). Each view is audited."""
    alert = alerts.get_alert(session, alerts.scope_of(session, dispatcher.id), alert_id)
    path = alert_image_file(settings.data_dir, getattr(alert, IMAGE_COLUMNS[kind]))
    if path is None:
        raise AlertImageNotFound(f"预警 {alert_id} 没有这张图片 alert {alert_id} has no {kind} image")
    audit.record(session, dispatcher, "alert.image.view", target=alert.plate, client_ip=client_ip(request),
                 detail={"alert_id": alert_id, "kind": kind})
    session.commit()
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/webhook/deliveries", response_model=list[WebhookDeliveryPublic])
def webhook_deliveries(_user: DeliveryViewer, session: SessionDep, pending_only: bool = False,
                       limit: int = 50) -> list[WebhookDelivery]:
    """Alerts forwarded (or still being retried) to the provincial platform, newest first."""
    return webhook.list_deliveries(session, pending_only, min(max(limit, 1), 500))


@router.get("/alerts/stats", response_model=list[UnitStats])
def alert_stats(_dispatcher: Dispatcher, session: SessionDep) -> list[UnitStats]:
    """On-time statistics per unit: signed within the deadline, feedback within 24 h."""
    return alerts.unit_stats(session)


@router.get("/scopes/me", response_model=ScopePublic)
def my_scope(dispatcher: Dispatcher, session: SessionDep) -> ScopePublic:
    return _scope_public(alerts.scope_of(session, dispatcher.id))


@router.put("/scopes/{user_id:int}", response_model=ScopePublic)
def set_scope(user_id: int, body: ScopeUpdate, admin: Admin, session: SessionDep) -> ScopePublic:
    """Which districts or checkpoints a dispatcher receives alerts for (admin)."""
    scope = alerts.set_scope(session, admin, get_user(session, user_id), body)
    session.commit()
    return _scope_public(scope)


def _scope_public(scope: DispatcherScope) -> ScopePublic:
    return ScopePublic(user_id=scope.user_id, whole_network=scope.whole_network, districts=list(scope.districts),
                       checkpoint_ids=list(scope.checkpoint_ids))


@router.get("/alerts/lifecycle", response_model=LifecyclePublic)
def alert_lifecycle(_dispatcher: Dispatcher, settings: SettingsDep) -> LifecyclePublic:
    """The lifecycle's states and steps (labels, order, notes, deadlines): the console draws its buttons from it."""
    return lifecycle(settings.watchlist)
