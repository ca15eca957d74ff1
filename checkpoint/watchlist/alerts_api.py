"""Dispatcher routes: alerts in scope, the live Server-Sent Events stream, lifecycle steps, statistics.

The SSE stream reads `checkpoint:alerts` with a blocking XREAD from the client's Last-Event-ID, so a
console that reconnects catches up on what it missed; each event id is the stream entry id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header
from fastapi.responses import FileResponse, StreamingResponse
from redis import Redis
from redis.exceptions import RedisError

from checkpoint.core.deps import BusDep, SessionDep, SettingsDep, require_roles
from checkpoint.core.errors import NotFound
from checkpoint.core.models import Role, User
from checkpoint.core.users import get as get_user
from checkpoint.watchlist import alerts, webhook
from checkpoint.watchlist.alert_images import alert_image_file
from checkpoint.watchlist.lifecycle import LifecyclePublic, lifecycle
from checkpoint.watchlist.models import DispatcherScope, HitAlert, WebhookDelivery
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
HEARTBEAT_MS = 15_000


class AlertImageNotFound(NotFound):
    reason = "no-image"


@router.get("/alerts", response_model=list[AlertPublic])
def list_alerts(dispatcher: Dispatcher, session: SessionDep, open_only: bool = False,
                limit: int = 100) -> list[HitAlert]:
    """The newest alerts at checkpoints in the dispatcher's scope."""
    return alerts.list_alerts(session, alerts.scope_of(session, dispatcher.id), min(max(limit, 1), 500), open_only)


@router.get("/alerts/stream")
def stream_alerts(dispatcher: Dispatcher, session: SessionDep, bus: BusDep,
                  last_event_id: Annotated[str | None, Header()] = None, since: str | None = None) -> StreamingResponse:
    """text/event-stream of alerts in scope; starts after Last-Event-ID (or `since`), else from now."""
    scope = alerts.scope_of(session, dispatcher.id)
    session.close()  # the stream may stay open for hours: hold no database connection
    return StreamingResponse(_events(bus, scope, last_event_id or since or "$"), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _events(bus: Redis, scope: DispatcherScope, start: str) -> Iterator[str]:
    last_id = start
    if last_id == "$":  # pin "now" to an id, so no alert between two reads is skipped
        last_id = _last_id(bus)
    yield "retry: 1000\n\n"
    while True:
        try:
            reply: Any = bus.xread({alerts.ALERTS_STREAM: last_id}, count=100, block=HEARTBEAT_MS)
        except RedisError:
            return  # the console's EventSource reconnects with Last-Event-ID and catches up
        if not reply:
            yield ": keep-alive\n\n"
            continue
        for msg_id, fields in reply[0][1]:
            last_id = msg_id
            if alerts.in_scope(scope, fields.get("district", ""), int(fields.get("checkpoint_id", "0"))):
                yield f"id: {msg_id}\nevent: {fields.get('kind', 'new')}\ndata: {fields['alert']}\n\n"


def _last_id(bus: Redis) -> str:
    newest: Any = bus.xrevrange(alerts.ALERTS_STREAM, count=1)
    return str(newest[0][0]) if newest else "0-0"


@router.post("/alerts/{alert_id}/action", response_model=AlertPublic)
def act_on_alert(alert_id: int, body: AlertAction, dispatcher: Dispatcher, session: SessionDep,
                 bus: BusDep, settings: SettingsDep) -> HitAlert:
    """One lifecycle step (sign, valid, false_read, instruct, feedback, close); others' consoles update."""
    alert = alerts.get_alert(session, alerts.scope_of(session, dispatcher.id), alert_id)
    alerts.act(session, dispatcher, alert, body.action, body.note, settings.watchlist)
    session.commit()
    alerts.publish(bus, alert, "update")
    return alert


@router.get("/alerts/{alert_id}/images/{kind}", response_class=FileResponse)
def alert_image(alert_id: int, kind: Literal["scene", "plate"], dispatcher: Dispatcher, session: SessionDep,
                settings: SettingsDep) -> FileResponse:
    """An alert's own copy of its pass image (kept after the pass itself has expired), in scope only."""
    alert = alerts.get_alert(session, alerts.scope_of(session, dispatcher.id), alert_id)
    path = alert_image_file(settings.data_dir, alert.image_path if kind == "scene" else alert.plate_image_path)
    if path is None:
        raise AlertImageNotFound(f"alert {alert_id} has no {kind} image")
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


@router.put("/scopes/{user_id}", response_model=ScopePublic)
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
