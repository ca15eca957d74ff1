"""The GA/T 1400.4 routes (/VIID/...): register with HTTP Digest, keep alive, push motor vehicles, read the registry.

A device registers with Digest credentials (401 with a challenge first, as the standard's flow has
it); afterwards it names itself in the `User-Identify` header and stays registered while it sends
keepalives (IntakeSettings.register_ttl_s). A request from a device that is neither registered
nor carrying valid credentials gets 401 with a fresh challenge, and nothing is stored.
Bodies are read whatever their Content-Type (devices send application/VIID+JSON, application/json
or nothing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture import device_seen
from checkpoint.capture.api import INLINE_IMAGE_CHARS, SessionOpener
from checkpoint.capture.models import Device
from checkpoint.capture.viid import codes, service
from checkpoint.capture.viid.schemas import (
    KeepaliveRequest,
    RegisterRequest,
    UnRegisterRequest,
    status_answer,
    status_list_answer,
    viid_time,
)
from checkpoint.core.config import Settings
from checkpoint.core.db import utcnow
from checkpoint.core.deps import BusDep, SettingsDep
from checkpoint.core.digest import DigestVerifier
from checkpoint.sites.models import Checkpoint

router = APIRouter(tags=["GA/T 1400"])
_verifiers: dict[tuple[str, str, int], DigestVerifier] = {}

UserIdentify = Annotated[str | None, Header(alias="User-Identify", description="the device's DeviceID")]


def verifier_for(settings: Settings) -> DigestVerifier:
    """One verifier per realm and key, so every API process checks the nonces its siblings issued."""
    secret = settings.resolved_secret_key()
    index = (settings.intake.digest_realm, secret, settings.intake.nonce_ttl_s)
    if index not in _verifiers:
        key = hashlib.sha256(f"viid-digest:{secret}".encode()).digest()
        _verifiers[index] = DigestVerifier(settings.intake.digest_realm, key, settings.intake.nonce_ttl_s)
    return _verifiers[index]


def unauthorized(settings: Settings, detail: str, stale: bool = False) -> JSONResponse:
    body = {"title": "not-authenticated", "status": 401, "reason": "not-authenticated", "detail": detail}
    return JSONResponse(body, status_code=401, media_type="application/problem+json",
                        headers={"WWW-Authenticate": verifier_for(settings).challenge(stale=stale)})


def bad_request(settings: Settings, url: str, code: codes.StatusCode, detail: str) -> JSONResponse:
    """400 with the standard's ResponseStatusObject beside the problem fields (devices read the first)."""
    zone = ZoneInfo(settings.intake.device_timezone)
    answer = status_answer(service.status(url, code, detail, "", utcnow(), zone))
    answer |= {"title": "invalid-input", "status": 400, "reason": "invalid-input", "detail": detail}
    return JSONResponse(answer, status_code=400, media_type="application/problem+json")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def authenticate(request: Request, settings: Settings, bus: Redis, found: service.DirectorySnapshot,
                 device_code: str | None, *, registering: bool = False) -> service.ViidDevice | JSONResponse:
    """The device, if its Digest credentials hold or (unless registering) it is registered; else a 401."""
    device = found.by_code.get(device_code or "")
    authorization = request.headers.get("authorization")
    if authorization or registering:
        def ha1_for(username: str) -> str | None:
            if device is None or not device.digest_ha1 or username != device.digest_username:
                return None
            return device.digest_ha1

        checked = verifier_for(settings).check(authorization, request.method, ha1_for)
        if checked.failure is None and device is not None:
            return device
        if authorization:
            return unauthorized(settings, f"设备认证失败：{checked.failure}", stale=checked.stale)
    if device is not None and is_registered(bus, device.code):
        return device
    return unauthorized(settings, "设备未注册或注册已过期，请先注册 (POST /VIID/System/Register)")


def is_registered(bus: Redis, code: str) -> bool:
    return service.is_registered(bus, code)


async def directory_snapshot(open_session: SessionOpener) -> service.DirectorySnapshot:
    """The cached directory without a thread-pool hop; only a reload (every few seconds) goes to a thread."""
    if (fresh := service.directory.fresh()) is not None:
        return fresh
    return await run_in_threadpool(service.directory.get, open_session)


Directory = Annotated[service.DirectorySnapshot, Depends(directory_snapshot)]


def _ok(settings: Settings, url: str, object_id: str) -> dict[str, Any]:
    zone = ZoneInfo(settings.intake.device_timezone)
    return status_answer(service.status(url, codes.StatusCode.OK, "正常", object_id, utcnow(), zone))


SystemRequest = RegisterRequest | KeepaliveRequest | UnRegisterRequest


async def _system_request(request: Request, settings: Settings, bus: Redis, found: service.DirectorySnapshot,
                          model: type[SystemRequest], user_identify: str | None,
                          registering: bool = False) -> service.ViidDevice | JSONResponse:
    """The device behind a Register, Keepalive or UnRegister body, authenticated; else the 400 or 401 to send."""
    url = request.url.path
    object_name = next(iter(model.model_fields))
    try:
        body = model.model_validate(_json(await request.body()))
    except ValidationError:
        return bad_request(settings, url, codes.StatusCode.INVALID_JSON_CONTENT,
                           f"请求体须为 {{\"{object_name}\": {{\"DeviceID\": ...}}}}")
    device_id = getattr(body, object_name).DeviceID
    return authenticate(request, settings, bus, found, device_id or user_identify, registering=registering)


@router.post("/VIID/System/Register")
async def register(request: Request, settings: SettingsDep, bus: BusDep, found: Directory) -> Any:
    """注册: Digest challenge first, then 0 for a known device with the right password."""
    device = await _system_request(request, settings, bus, found, RegisterRequest, None, registering=True)
    if isinstance(device, JSONResponse):
        return device
    service.mark_registered(bus, device.code, settings.intake.register_ttl_s)
    device_seen.seen(bus, device.push_as.id, "register", utcnow(), force=True)
    return _ok(settings, request.url.path, device.code)


@router.post("/VIID/System/Keepalive")
async def keepalive(request: Request, settings: SettingsDep, bus: BusDep, found: Directory,
                    user_identify: UserIdentify = None) -> Any:
    """保活: a registered device stays registered for another register_ttl_s."""
    device = await _system_request(request, settings, bus, found, KeepaliveRequest, user_identify)
    if isinstance(device, JSONResponse):
        return device
    service.mark_registered(bus, device.code, settings.intake.register_ttl_s)
    device_seen.seen(bus, device.push_as.id, "keepalive", utcnow())
    return _ok(settings, request.url.path, device.code)


@router.post("/VIID/System/UnRegister")
async def unregister(request: Request, settings: SettingsDep, bus: BusDep, found: Directory,
                     user_identify: UserIdentify = None) -> Any:
    """注销: the device leaves; its next request must register again."""
    device = await _system_request(request, settings, bus, found, UnRegisterRequest, user_identify)
    if isinstance(device, JSONResponse):
        return device
    service.unregister(bus, device.code)
    return _ok(settings, request.url.path, device.code)


@router.get("/VIID/System/Time")
async def system_time(request: Request, settings: SettingsDep, bus: BusDep, found: Directory,
                      user_identify: UserIdentify = None) -> Any:
    """校时: this platform's time, for the device to set its clock by."""
    device = authenticate(request, settings, bus, found, user_identify)
    if isinstance(device, JSONResponse):
        return device
    zone = ZoneInfo(settings.intake.device_timezone)
    return {"SystemTimeObject": {"VIIDServerID": settings.intake.viid_server_id, "TimeMode": "1",
                                 "LocalTime": viid_time(utcnow().astimezone(zone)),
                                 "TimeZone": settings.intake.device_timezone}}


@router.post("/VIID/MotorVehicles")
async def motor_vehicles(request: Request, settings: SettingsDep, bus: BusDep, found: Directory,
                         user_identify: UserIdentify = None) -> Any:
    """批量机动车: one pass per object; one status per object, the bad ones with their reason."""
    url = service.MOTOR_VEHICLES_URL
    device = authenticate(request, settings, bus, found, user_identify)
    if isinstance(device, JSONResponse):
        return device
    body = _json(await request.body())
    if body is None:
        return bad_request(settings, url, codes.StatusCode.INVALID_JSON_FORMAT, "请求体不是合法的 JSON")
    listed = body.get("MotorVehicleListObject") if isinstance(body, dict) else None
    objects = listed.get("MotorVehicleObject") if isinstance(listed, dict) else None
    if not isinstance(objects, list) or not objects:
        return bad_request(settings, url, codes.StatusCode.INVALID_JSON_CONTENT,
                           "请求体须为 {\"MotorVehicleListObject\": {\"MotorVehicleObject\": [...]}}，且至少一个对象")
    now = utcnow()
    if _image_chars(objects) <= INLINE_IMAGE_CHARS:  # plate crops only: cheaper on the loop (as /ingest/passes)
        statuses = service.accept_motor_vehicles(bus, found, device, objects, settings.data_dir, now,
                                                 intake=settings.intake, retention=settings.retention)
    else:
        statuses = await run_in_threadpool(service.accept_motor_vehicles, bus, found, device, objects,
                                           settings.data_dir, now, intake=settings.intake,
                                           retention=settings.retention)
    stored = any(status.StatusCode == 0 for status in statuses)
    device_seen.seen(bus, device.push_as.id, "push", now, passed=stored)
    return status_list_answer(statuses)


def _image_chars(objects: list[Any]) -> int:
    """The base64 characters of every image in the list (URL images count as large: they are fetched)."""
    total = 0
    for item in objects:
        listed = item.get("SubImageList") if isinstance(item, dict) else None
        for image in (listed.get("SubImageInfoObject") or []) if isinstance(listed, dict) else []:
            if not isinstance(image, dict):
                continue
            data = image.get("Data")
            if isinstance(data, str):
                total += len(data)
            elif image.get("StoragePath"):
                total += INLINE_IMAGE_CHARS + 1
    return total


def _registry_rows(open_session: Callable[[], AbstractContextManager[Session]]) -> list[Any]:
    with open_session() as session:
        return list(session.execute(
            select(Device.code, Device.name, Device.tollgate_id, Checkpoint.code, Checkpoint.name,
                   Checkpoint.district, Checkpoint.lon, Checkpoint.lat, Checkpoint.lanes, Device.active)
            .join(Checkpoint, Checkpoint.id == Device.checkpoint_id)
            .where(Device.kind == "gat1400").order_by(Device.code)).all())


@router.get("/VIID/Tollgates")
async def tollgates(request: Request, settings: SettingsDep, bus: BusDep, found: Directory,
                    open_session: SessionOpener, user_identify: UserIdentify = None) -> Any:
    """卡口: every TollgateID registered here, with its checkpoint's place."""
    device = authenticate(request, settings, bus, found, user_identify)
    if isinstance(device, JSONResponse):
        return device
    seen: dict[str, dict[str, Any]] = {}
    for _code, _name, tollgate, _cp_code, cp_name, district, lon, lat, lanes, active in await run_in_threadpool(
            _registry_rows, open_session):
        if tollgate and tollgate not in seen:
            seen[tollgate] = {"TollgateID": tollgate, "Name": cp_name, "Longitude": lon, "Latitude": lat,
                              "PlaceCode": district, "Status": "1" if active else "2", "TollgateCat": "10",
                              "LaneNum": lanes}
    return {"TollgateListObject": {"TollgateObject": list(seen.values())}}


@router.get("/VIID/APEs")
async def apes(request: Request, settings: SettingsDep, bus: BusDep, found: Directory, open_session: SessionOpener,
               user_identify: UserIdentify = None) -> Any:
    """采集设备: every GA/T 1400 device registered here, and whether it is registered (online) now."""
    device = authenticate(request, settings, bus, found, user_identify)
    if isinstance(device, JSONResponse):
        return device
    rows = await run_in_threadpool(_registry_rows, open_session)
    return {"APEListObject": {"APEObject": [
        {"ApeID": code, "Name": name or cp_name, "Model": "", "IPAddr": "", "Port": 0, "Longitude": lon,
         "Latitude": lat, "PlaceCode": district, "Place": cp_name, "TollgateID": tollgate or "",
         "IsOnline": "1" if active and service.is_registered(bus, code) else "2"}
        for code, name, tollgate, _cp_code, cp_name, district, lon, lat, _lanes, active in rows]}}
