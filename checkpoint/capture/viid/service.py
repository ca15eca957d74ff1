"""GA/T 1400 devices: who they are (a cached directory), whether they registered, and their motor vehicles as passes.

Each MotorVehicleObject goes through the same accept_push as our JSON push (same checks,
idempotency on its MotorVehicleID, images, reads stream, then the writer's repeat window and the
matcher), so a GA/T 1400 pass is like any other; one object's fault is its own status, the others
in the list are stored.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture.models import Device
from checkpoint.capture.schemas import PassPush, PushedImage
from checkpoint.capture.service import AuthenticatedDevice, VehicleDescription, accept_push
from checkpoint.capture.viid import codes
from checkpoint.capture.viid.schemas import VIID_TIME, MotorVehicle, ResponseStatus, viid_time
from checkpoint.core.errors import DomainError
from checkpoint.core.settings_groups import IntakeSettings, RetentionSettings
from checkpoint.passes.vehicle import vehicle_brand
from checkpoint.sites.models import Checkpoint

log = logging.getLogger(__name__)

MOTOR_VEHICLES_URL = "/VIID/MotorVehicles"
DIRECTORY_TTL_S = 10.0  # a registry change reaches every API process within this (at once in the one that made it)
MAX_URL_IMAGE_BYTES = 3_000_000


@dataclass(frozen=True)
class ViidDevice:
    """A registered GA/T 1400 device, with the AuthenticatedDevice its passes are accepted as."""

    code: str  # the 20-digit DeviceID (ApeID)
    tollgate_id: str | None
    digest_username: str | None
    digest_ha1: str | None
    push_as: AuthenticatedDevice


@dataclass
class DirectorySnapshot:
    by_code: dict[str, ViidDevice] = field(default_factory=dict)
    by_tollgate: dict[str, list[ViidDevice]] = field(default_factory=dict)
    loaded_at: float = -DIRECTORY_TTL_S


_ACTIVE = (
    select(Device.id, Device.code, Device.checkpoint_id, Checkpoint.code, Checkpoint.lanes, Device.lanes,
           Device.direction, Checkpoint.retention_class, Device.tollgate_id, Device.digest_username,
           Device.digest_ha1)
    .join(Checkpoint, Checkpoint.id == Device.checkpoint_id)
    .where(Device.active.is_(True), Checkpoint.active.is_(True), Device.kind == "gat1400")
)


class Directory:
    """Every active GA/T 1400 device, by DeviceID and by TollgateID, reloaded every DIRECTORY_TTL_S."""

    def __init__(self) -> None:
        self._snapshot = DirectorySnapshot()
        self._lock = threading.Lock()

    def fresh(self) -> DirectorySnapshot | None:
        """The snapshot when it needs no reload, else None."""
        snapshot = self._snapshot
        return snapshot if time.monotonic() - snapshot.loaded_at < DIRECTORY_TTL_S else None

    def get(self, open_session: Callable[[], AbstractContextManager[Session]]) -> DirectorySnapshot:
        if time.monotonic() - self._snapshot.loaded_at < DIRECTORY_TTL_S:
            return self._snapshot
        with self._lock:
            if time.monotonic() - self._snapshot.loaded_at >= DIRECTORY_TTL_S:
                with open_session() as session:
                    self._snapshot = self._load(session.execute(_ACTIVE).all())
        return self._snapshot

    @staticmethod
    def _load(rows: Sequence[Any]) -> DirectorySnapshot:
        snapshot = DirectorySnapshot(loaded_at=time.monotonic())
        for row in rows:
            push_as = AuthenticatedDevice(id=row[0], code=row[1], checkpoint_id=row[2], checkpoint_code=row[3],
                                          checkpoint_lanes=row[4], lanes=tuple(row[5] or ()), direction=row[6],
                                          kind="smart", retention_class=row[7])
            device = ViidDevice(code=row[1], tollgate_id=row[8], digest_username=row[9], digest_ha1=row[10],
                                push_as=push_as)
            snapshot.by_code[device.code] = device
            if device.tollgate_id:
                snapshot.by_tollgate.setdefault(device.tollgate_id, []).append(device)
        return snapshot

    def forget(self) -> None:
        """After a registry change: the next request reloads."""
        self._snapshot = DirectorySnapshot()


directory = Directory()


def registered_key(code: str) -> str:
    return f"checkpoint:viid:registered:{code}"


REGISTERED_CACHE_S = 5.0  # a registration Redis confirmed is believed this long without asking again
_registered_seen: dict[str, float] = {}  # DeviceID -> when Redis last confirmed it (monotonic)


def mark_registered(bus: Redis, code: str, ttl_s: int) -> None:
    bus.set(registered_key(code), "1", ex=ttl_s)
    _registered_seen[code] = time.monotonic()


def is_registered(bus: Redis, code: str) -> bool:
    """Whether the device registered (and kept alive) lately; asked of Redis at most every REGISTERED_CACHE_S.

    A push must not wait on Redis on the event loop each time: at 480 objects/s that round trip
    queued the pushes behind it (docs/BENCHMARKS.md, issue 17). An UnRegister in another API process
    is thus seen here within REGISTERED_CACHE_S.
    """
    if time.monotonic() - _registered_seen.get(code, -REGISTERED_CACHE_S) < REGISTERED_CACHE_S:
        return True
    if bus.exists(registered_key(code)):
        _registered_seen[code] = time.monotonic()
        return True
    _registered_seen.pop(code, None)
    return False


def unregister(bus: Redis, code: str) -> None:
    bus.delete(registered_key(code))
    _registered_seen.pop(code, None)


def status(url: str, code: codes.StatusCode, text: str, object_id: str, now: datetime,
           zone: ZoneInfo) -> ResponseStatus:
    return ResponseStatus(RequestURL=url, StatusCode=int(code), StatusString=text, Id=object_id,
                          LocalTime=viid_time(now.astimezone(zone)))


class ObjectRefused(Exception):
    """One object of a list cannot become a pass: its status code and a sentence saying why."""

    def __init__(self, code: codes.StatusCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def parse_viid_time(text: str | None, zone: ZoneInfo) -> datetime:
    """yyyyMMddHHmmss (or with milliseconds) in the devices' zone, as an aware datetime."""
    value = (text or "").strip()
    if len(value) == 17 and value.isdigit():
        value = value[:14]
    try:
        return datetime.strptime(value, VIID_TIME).replace(tzinfo=zone)
    except ValueError:
        raise ObjectRefused(codes.StatusCode.INVALID_JSON_CONTENT,
                            f"过车时间 PassTime {text!r} 不是 yyyyMMddHHmmss 格式") from None


def camera_for(vehicle: MotorVehicle, pusher: ViidDevice, found: DirectorySnapshot) -> ViidDevice:
    """The registered device an object is a pass of: by its TollgateID (and DeviceID among that tollgate's)."""
    tollgate = vehicle.TollgateID or pusher.tollgate_id
    if not tollgate:
        raise ObjectRefused(codes.StatusCode.INVALID_JSON_CONTENT, "缺少卡口编号 TollgateID，且设备未登记所属卡口")
    candidates = found.by_tollgate.get(tollgate)
    if not candidates:
        raise ObjectRefused(codes.StatusCode.INVALID_OPERATION, f"卡口编号 TollgateID {tollgate} 未在本平台登记")
    for candidate in candidates:
        if candidate.code == vehicle.DeviceID:
            return candidate
    return pusher if pusher in candidates else candidates[0]


def fetch_image(url: str, timeout_s: float) -> bytes | None:
    """An image a device sent as a URL (StoragePath); None when it cannot be had in time."""
    if not url.lower().startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310  # scheme checked above
            data: bytes = response.read(MAX_URL_IMAGE_BYTES + 1)
    except (OSError, ValueError) as exc:
        log.warning("viid.image_not_fetched", extra={"url": url[:200], "error": type(exc).__name__})
        return None
    return data if len(data) <= MAX_URL_IMAGE_BYTES else None


def images_of(vehicle: MotorVehicle, fetch_timeout_s: float) -> list[PushedImage]:
    """The scene (车辆大图/场景图) and plate (车牌彩色小图) images, base64 as PassPush takes them."""
    chosen: dict[str, PushedImage] = {}
    for image in (vehicle.SubImageList.SubImageInfoObject if vehicle.SubImageList else []):
        kind_code = codes.image_type(image.Type)
        kind = "scene" if kind_code in codes.SCENE_IMAGE_TYPES else "plate" if kind_code in codes.PLATE_IMAGE_TYPES \
            else None
        if kind is None or kind in chosen:
            continue
        data = image.Data
        if not data and image.StoragePath:
            raw = fetch_image(image.StoragePath, fetch_timeout_s)
            data = base64.b64encode(raw).decode() if raw else None
        if data:
            chosen[kind] = PushedImage(type=kind, data=data)
    return list(chosen.values())


def pass_of(vehicle: MotorVehicle, camera: ViidDevice, settings: IntakeSettings, zone: ZoneInfo) -> PassPush:
    plate = (vehicle.PlateNo or "").strip()
    if not plate or vehicle.HasPlate == "0":
        raise ObjectRefused(codes.StatusCode.INVALID_JSON_CONTENT, "缺少号牌号码 PlateNo（无牌车不存为过车）")
    lanes = camera.push_as.allowed_lanes()
    lane = vehicle.LaneNo if vehicle.LaneNo else (lanes[0] if len(lanes) == 1 else None)
    if lane is None:
        raise ObjectRefused(codes.StatusCode.INVALID_JSON_CONTENT, "缺少车道号 LaneNo")
    when = parse_viid_time(vehicle.PassTime or vehicle.MarkTime or vehicle.AppearTime, zone)
    try:
        return PassPush(device_id=camera.code, record_id=vehicle.MotorVehicleID or None, plate_no=plate,
                        plate_colour=codes.plate_colour(vehicle.PlateColor), lane_no=lane,
                        direction=camera.push_as.direction or "in", pass_time=when, speed=vehicle.Speed,
                        images=images_of(vehicle, settings.image_fetch_timeout_s))
    except ValidationError as exc:
        raise ObjectRefused(codes.StatusCode.INVALID_JSON_CONTENT, f"字段不合规范: {_first_error(exc)}") from None


def vehicle_of(vehicle: MotorVehicle) -> VehicleDescription:
    try:
        brand = vehicle_brand(vehicle.VehicleBrand)
    except ValueError:
        brand = None
    return VehicleDescription(colour=codes.vehicle_colour(vehicle.VehicleColor),
                              type=codes.vehicle_type(vehicle.VehicleClass), brand=brand)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


def accept_motor_vehicles(bus: Redis, found: DirectorySnapshot, pusher: ViidDevice, objects: list[Any],
                          data_dir: Path, now: datetime, *, intake: IntakeSettings,
                          retention: RetentionSettings) -> list[ResponseStatus]:
    """One status per object, in order: 0 for a pass stored (queued for the writer), else its error.

    An outage of Redis raises (the whole request is answered 503 and the device sends the list
    again; objects with a MotorVehicleID are stored once).
    """
    zone = ZoneInfo(intake.device_timezone)
    statuses = []
    for raw in objects:
        object_id = str(raw.get("MotorVehicleID", "")) if isinstance(raw, dict) else ""
        try:
            if not isinstance(raw, dict):
                raise ObjectRefused(codes.StatusCode.INVALID_JSON_FORMAT, "MotorVehicleObject 不是 JSON 对象")
            try:
                vehicle = MotorVehicle.model_validate(raw)
            except ValidationError as exc:
                raise ObjectRefused(codes.StatusCode.INVALID_JSON_CONTENT,
                                    f"字段不合规范: {_first_error(exc)}") from None
            camera = camera_for(vehicle, pusher, found)
            push = pass_of(vehicle, camera, intake, zone)
            try:
                captured = accept_push(bus, camera.push_as, push, data_dir, now, retention=retention,
                                       vehicle=vehicle_of(vehicle), source="gat1400")
            except DomainError as exc:
                raise ObjectRefused(codes.StatusCode.INVALID_JSON_CONTENT, str(exc)) from None
            statuses.append(status(MOTOR_VEHICLES_URL, codes.StatusCode.OK, "正常", object_id or str(captured.pass_id),
                                   now, zone))
        except ObjectRefused as refused:
            statuses.append(status(MOTOR_VEHICLES_URL, refused.code, str(refused), object_id, now, zone))
    return statuses
