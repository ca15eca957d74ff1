"""Routes: pushing cameras post pass records; admins register and disable the devices."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from checkpoint.capture import device_seen, service, snapshots
from checkpoint.capture.feed_status import checkpoint_states, feed_health
from checkpoint.capture.health_api import router as health_router
from checkpoint.capture.key_refresh import KeyRefresher
from checkpoint.capture.registry_api import router as registry_router
from checkpoint.capture.schemas import (
    DeviceCreate,
    DevicePublic,
    DeviceRegistered,
    DeviceUpdate,
    Direction,
    FeedHealthPublic,
    FeedStatusReport,
    PassPush,
    PushAccepted,
    SnapshotQueued,
)
from checkpoint.capture.viid.service import directory as viid_directory
from checkpoint.core import audit
from checkpoint.core.db import Database, utcnow
from checkpoint.core.deps import AdminUser, BusDep, SessionDep, SettingsDep, client_ip, require_roles
from checkpoint.core.limits import DbId
from checkpoint.core.models import Role, User

router = APIRouter()
router.include_router(registry_router)
router.include_router(health_router)
key_refresher = KeyRefresher()


async def get_session_opener() -> Callable[[], AbstractContextManager[Session]]:
    """Opens a short session inside a dependency, instead of holding one for the whole request.

    A push must not hold a pooled connection until its response is sent: with more pushing
    cameras than pool connections, requests waiting for a connection fill the thread pool that
    the finished requests need to give theirs back.
    """
    if Database.sessions is None:
        raise RuntimeError("database not configured: call Database.configure() at start-up")
    return Database.sessions


SessionOpener = Annotated[Callable[[], AbstractContextManager[Session]], Depends(get_session_opener)]


async def current_device(open_session: SessionOpener,
                         x_device_key: Annotated[str | None, Header(description="the device's API key")] = None,
                         ) -> service.AuthenticatedDevice:
    """The pushing device, by its key (cached briefly); 401 without a valid one (checked before the body).

    While PostgreSQL is down a key it vouched for is served from the last good cache (pushes go on
    into the reads stream); a key never seen gets 503 with Retry-After.

    Async, like get_session_opener: a sync dependency costs a trip through the thread pool on every
    push, and a cached key needs none; only a key not in the cache is looked up in a worker thread.
    A cached key is looked up again in the background before it expires (key_refresh.py).
    """
    if x_device_key and (cached := service.cached_device(x_device_key)) is not None:
        key_refresher.cached_hit(x_device_key, partial(_authenticate, open_session, x_device_key))
        return cached
    return await run_in_threadpool(_authenticate, open_session, x_device_key)


def _authenticate(open_session: Callable[[], AbstractContextManager[Session]],
                  api_key: str | None) -> service.AuthenticatedDevice:
    """The database's answer, or while it cannot be asked the last good one (503 for a key never seen)."""
    return service.authenticate_or_last_good(open_session, api_key)


CurrentDevice = Annotated[service.AuthenticatedDevice, Depends(current_device)]


# Pushes whose images together are at most this many base64 characters (a plate crop is ~4,000) are
# stored on the event loop: for them the trip through the thread pool costs more CPU than the work
# (0.88 against 1.04 ms a push, docs/BENCHMARKS.md). A scene frame (~270,000) goes to a thread, where
# its JPEG check (OpenCV releases the GIL) runs beside the loop instead of stalling every request.
INLINE_IMAGE_CHARS = 64_000


@router.post("/ingest/passes", response_model=PushAccepted, status_code=202, tags=["ingest"])
async def push_pass(body: PassPush, device: CurrentDevice, bus: BusDep, settings: SettingsDep) -> PushAccepted:
    """Accept one pass record from a smart camera: validated, images stored, queued for the passes writer."""
    if sum(len(image.data) for image in body.images) <= INLINE_IMAGE_CHARS:
        captured = service.accept_push(bus, device, body, settings.data_dir, utcnow(), retention=settings.retention)
    else:
        captured = await run_in_threadpool(service.accept_push, bus, device, body, settings.data_dir, utcnow(),
                                           retention=settings.retention)
    stored = (captured.image_path is not None) + (captured.plate_image_path is not None)
    device_seen.seen(bus, device.id, "push", utcnow(), passed=True)
    return PushAccepted(pass_id=captured.pass_id, images_stored=stored == len(body.images))


@router.post("/ingest/snapshots", response_model=SnapshotQueued, status_code=202, tags=["ingest"])
def push_snapshot(
    image: Annotated[bytes, Body(media_type="image/jpeg", description="the JPEG itself (Content-Type: image/jpeg)")],
    device: CurrentDevice, bus: BusDep, settings: SettingsDep,
    lane: Annotated[int, Query(ge=1, le=16, description="the lane the camera watches")],
    direction: Annotated[Direction | None, Query(description="in or out; default the device's")] = None,
    taken_at: Annotated[AwareDatetime | None, Query(description="when it was taken, with its UTC offset; "
                                                               "default: when received")] = None,
    snapshot_ref: Annotated[str | None, Query(min_length=1, max_length=64, description="the device's own id "
                                              "of this snapshot; a retried push of the same JPEG with it is read "
                                              "once (another JPEG or taken_at under it is another pass)")] = None,
) -> SnapshotQueued:
    """Accept one JPEG from a snapshot camera: checked, stored, queued for the LPR workers (never read here)."""
    queued = snapshots.accept_snapshot(bus, device, image, lane=lane, direction=direction, taken_at=taken_at,
                                       snapshot_ref=snapshot_ref, data_dir=settings.data_dir, now=utcnow(),
                                       retention=settings.retention)
    device_seen.seen(bus, device.id, "snapshot", utcnow(), passed=True)
    return SnapshotQueued(snapshot_id=queued.snapshot_id)


@router.get("/devices", response_model=list[DevicePublic], tags=["devices"])
def list_devices(_admin: AdminUser, session: SessionDep,
                 after_id: Annotated[DbId | None, Query(description="the last id of the previous page")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> list[DevicePublic]:
    return [DevicePublic.model_validate(device) for device in service.list_devices(session, after_id, limit)]


@router.post("/devices", response_model=DeviceRegistered, status_code=201, tags=["devices"])
def register_device(body: DeviceCreate, admin: AdminUser, request: Request, session: SessionDep,
                    settings: SettingsDep) -> DeviceRegistered:
    """Register a pushing camera; the answer carries its API key, shown this once."""
    device, api_key = service.register_device(session, body, settings.intake.digest_realm)
    audit.record(session, admin, "device.register", target=device.code,
                 detail={"checkpoint_id": device.checkpoint_id, "key_prefix": device.key_prefix, "kind": device.kind,
                         "tollgate_id": device.tollgate_id},
                 client_ip=client_ip(request))
    session.commit()
    viid_directory.forget()
    return DeviceRegistered(**DevicePublic.model_validate(device).model_dump(), api_key=api_key)


@router.patch("/devices/{device_id}", response_model=DevicePublic, tags=["devices"])
def update_device(device_id: int, body: DeviceUpdate, admin: AdminUser, request: Request,
                  session: SessionDep) -> DevicePublic:
    """Enable or disable a device: a disabled device's pushes get 401."""
    device = service.set_device_active(session, device_id, body.active)  # also forgets cached keys
    audit.record(session, admin, "device.enable" if body.active else "device.disable", target=device.code,
                 client_ip=client_ip(request))
    session.commit()
    viid_directory.forget()
    return DevicePublic.model_validate(device)


FeedViewer = Annotated[User, Depends(require_roles(Role.admin, Role.dispatcher, Role.planner))]


@router.get("/feeds/status", response_model=FeedStatusReport, tags=["feeds"])
def feeds_status(_user: FeedViewer, session: SessionDep, bus: BusDep,
                 hours: Annotated[float, Query(gt=0, le=24 * 90, description="window length, ending now")] = 24,
                 ) -> FeedStatusReport:
    """Each video feed's state now and its online rate over the window; the network's 在线率 and 完好率."""
    until = utcnow()
    since = until - timedelta(hours=hours)
    rows = feed_health(session, bus, since, until)
    return FeedStatusReport(
        since=since, until=until, feeds=[FeedHealthPublic(**vars(row)) for row in rows],
        online_rate=round(sum(r.online_rate for r in rows) / len(rows), 4) if rows else None,
        intact_rate=round(sum(r.state == "online" for r in rows) / len(rows), 4) if rows else None,
        checkpoints=checkpoint_states(rows))
