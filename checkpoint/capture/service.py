"""Pushing devices: registration with a one-time key, and accepting their pass records."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture.models import Device
from checkpoint.capture.schemas import DeviceCreate, PassPush
from checkpoint.core import digest
from checkpoint.core.bus import READS_STREAM
from checkpoint.core.errors import (
    DATABASE_OUTAGES,
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    ServiceUnavailable,
)
from checkpoint.core.metrics import PASSES_IN
from checkpoint.core.settings_groups import RetentionSettings
from checkpoint.lpr import PlateColour, normalize_plate, plate_type_of
from checkpoint.passes import images
from checkpoint.passes.models import PLATE_MAX_CHARS
from checkpoint.passes.record import CapturedPass
from checkpoint.sites.models import Checkpoint

MAX_FUTURE = timedelta(minutes=5)  # camera clocks drift; more than this ahead is refused
RECORD_NAMESPACE = uuid.UUID("6f1d2a52-51a4-4c1e-9a55-3c1f0e1d5a01")

log = logging.getLogger(__name__)


class UnknownCheckpoint(NotFound):
    reason = "unknown-checkpoint"


class DeviceNotFound(NotFound):
    reason = "unknown-device"


class DeviceCodeTaken(Conflict):
    reason = "device-code-taken"


class PassRefused(InvalidInput):
    reason = "invalid-pass"


class WrongDeviceKind(Forbidden):
    reason = "wrong-device-kind"


@dataclass(frozen=True)
class AuthenticatedDevice:
    """The device a key belongs to, with what a push needs of its checkpoint."""

    id: int
    code: str
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_lanes: int
    lanes: tuple[int, ...]
    direction: str | None
    kind: str = "smart"
    retention_class: int = 1  # its checkpoint's: how old a pass it may push (RetentionSettings.ingest_age_limit)

    def require_kind(self, kind: str, endpoint: str) -> None:
        """403 when a device pushes to the other kind's endpoint."""
        if self.kind != kind:
            raise WrongDeviceKind(f"device {self.code!r} is registered as a {self.kind} camera; "
                                  f"{endpoint} takes pushes of {kind} cameras")

    def allowed_lanes(self) -> tuple[int, ...]:
        return self.lanes or tuple(range(1, self.checkpoint_lanes + 1))


KEY_CACHE_S = 10.0  # a disabled device is refused within this time (at once by this process)
DATABASE_RETRY_S = 2.0  # after a failed key lookup, keys come from the last good cache this long, unasked
# sha256 of a key -> (when the database last vouched for it, monotonic; the device). An entry older
# than KEY_CACHE_S is asked again; while the database cannot be asked it is the last good answer.
_key_cache: dict[str, tuple[float, AuthenticatedDevice]] = {}
_key_cache_lock = threading.Lock()
_full_load_needed = True  # at start and after a device changed: the next lookup loads every active key
_database_down_until = 0.0  # monotonic; until then key lookups do not ask the database
_serving_last_good = False  # for logging the change of state once, not per push


class DeviceKeysUnavailable(ServiceUnavailable):
    reason = "device-keys-unavailable"


def hash_key(api_key: str) -> str:
    """sha256 is enough: keys are 32 random bytes, so there is nothing to guess or to look up."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def register_device(session: Session, body: DeviceCreate, digest_realm: str = "checkpoint-viid") -> tuple[Device, str]:
    """Add a device and return it with its API key, which is never stored and never shown again.

    A GA/T 1400 device authenticates with HTTP Digest instead: its 20-digit code, TollgateID,
    username and password are required, and only MD5(username:realm:password) is kept.
    """
    checkpoint = session.scalar(select(Checkpoint).where(Checkpoint.code == body.checkpoint))
    if checkpoint is None:
        raise UnknownCheckpoint(f"checkpoint {body.checkpoint!r} is not registered")
    if session.scalar(select(Device.id).where(Device.code == body.code)) is not None:
        raise DeviceCodeTaken(f"device code {body.code!r} is already registered")
    device, api_key = new_device(checkpoint, body, digest_realm)
    session.add(device)
    session.flush()
    return device, api_key


def reissue_key(session: Session, device: Device) -> str:
    """A new API key for a device (the old one stops working); shown once, like the first."""
    api_key = "ck_" + secrets.token_urlsafe(32)
    old_hash = device.api_key_hash
    device.api_key_hash, device.key_prefix = hash_key(api_key), api_key[:10]
    session.flush()
    forget_cached_keys(old_hash)
    return api_key


def new_device(checkpoint: Checkpoint, body: DeviceCreate, digest_realm: str) -> tuple[Device, str]:
    """The device row and its API key, checked against its checkpoint (the caller knows the code is free)."""
    bad_lanes = [lane for lane in body.lanes if not 1 <= lane <= checkpoint.lanes]
    if bad_lanes:
        raise InvalidInput(f"lanes {bad_lanes}: checkpoint {checkpoint.code} has lanes 1..{checkpoint.lanes}")
    api_key = "ck_" + secrets.token_urlsafe(32)
    device = Device(code=body.code, name=body.name, checkpoint_id=checkpoint.id, lanes=sorted(set(body.lanes)),
                    direction=body.direction, kind=body.kind, api_key_hash=hash_key(api_key), key_prefix=api_key[:10],
                    active=True)
    if body.kind == "gat1400":
        if not (body.code.isdigit() and len(body.code) == 20 and body.tollgate_id and body.digest_username
                and body.digest_password):
            raise InvalidInput("GA/T 1400 设备须有 20 位数字设备编号、20 位卡口编号 tollgate_id、"
                               "认证用户名 digest_username 和密码 digest_password")
        device.tollgate_id = body.tollgate_id
        device.digest_username = body.digest_username
        device.digest_ha1 = digest.ha1(body.digest_username, digest_realm, body.digest_password)
    return device, api_key


def list_devices(session: Session, after_id: int | None = None, limit: int = 500) -> list[Device]:
    """One page in id order; `after_id` is the last id of the previous page."""
    query = select(Device).order_by(Device.id).limit(limit)
    if after_id is not None:
        query = query.where(Device.id > after_id)
    return list(session.scalars(query))


def set_device_active(session: Session, device_id: int, active: bool) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound(f"device {device_id} does not exist")
    device.active = active
    session.flush()
    forget_cached_keys(device.api_key_hash)
    return device


def forget_cached_keys(changed_key_hash: str | None = None) -> None:
    """After a device change: drop the changed device's key, and have every other one asked again.

    The others stay as last good answers for an outage; the next lookup reloads all active keys at
    once, asking the database at once too (a device change has just been committed there).
    """
    global _full_load_needed, _database_down_until
    _database_down_until = 0.0
    with _key_cache_lock:
        if changed_key_hash is not None:
            _key_cache.pop(changed_key_hash, None)
        for digest, (_at, device) in list(_key_cache.items()):
            _key_cache[digest] = (-KEY_CACHE_S, device)
        _full_load_needed = True


def cached_device(api_key: str | None) -> AuthenticatedDevice | None:
    """The device of a key authenticated in the last KEY_CACHE_S seconds, else None."""
    if not api_key:
        return None
    found = _key_cache.get(hash_key(api_key))
    if found is None or time.monotonic() - found[0] > KEY_CACHE_S:
        return None
    return found[1]


_ACTIVE_DEVICES = (
    select(Device.api_key_hash, Device.id, Device.code, Device.checkpoint_id, Checkpoint.code, Checkpoint.lanes,
           Device.lanes, Device.direction, Device.kind, Checkpoint.retention_class)
    .join(Checkpoint, Checkpoint.id == Device.checkpoint_id)
    .where(Device.active.is_(True), Checkpoint.active.is_(True))
)
_first_load_lock = threading.Lock()


def authenticate_device(session: Session, api_key: str | None) -> AuthenticatedDevice:
    """The active device holding this key; 401 for a missing, unknown or disabled key.

    With nothing cached (a process's first push, or just after a device changed) every active
    device's key is loaded at once: devices start together, and 120 lookups queued in front of
    their first pushes made those take up to 2 s. Raises the database's error when it cannot be
    asked (see authenticate_or_last_good).
    """
    global _full_load_needed
    if not api_key:
        raise NotAuthenticated("send the device's API key in the X-Device-Key header")
    digest = hash_key(api_key)
    if _full_load_needed:
        with _first_load_lock:
            if _full_load_needed:
                _replace_cache(session.execute(_ACTIVE_DEVICES).all())
                _full_load_needed = False
        if (found := cached_device(api_key)) is not None:
            return found
    rows = session.execute(_ACTIVE_DEVICES.where(Device.api_key_hash == digest)).all()
    if not rows:
        with _key_cache_lock:
            _key_cache.pop(digest, None)  # no longer a last good answer either
        raise NotAuthenticated("the device key is unknown or the device is disabled")
    return _cache_rows(rows)[0]


def authenticate_or_last_good(open_session: Callable[[], AbstractContextManager[Session]],
                              api_key: str | None) -> AuthenticatedDevice:
    """authenticate_device, or while PostgreSQL cannot be asked the last good answer for the key.

    Ingest must keep accepting pushes through a database outage (passes wait in the reads stream):
    a key the database vouched for stays valid until it can be asked again; a key never seen gets
    503 (DeviceKeysUnavailable), not 401, since it may be valid. After a failed lookup the
    database is left alone for DATABASE_RETRY_S, so pushes do not each wait for a refused connection.
    """
    global _database_down_until, _serving_last_good
    if time.monotonic() >= _database_down_until:
        try:
            with open_session() as session:
                device = authenticate_device(session, api_key)
        except DATABASE_OUTAGES as exc:
            _database_down_until = time.monotonic() + DATABASE_RETRY_S
            if not _serving_last_good:
                _serving_last_good = True
                log.warning("capture.device_keys_from_last_good_cache", extra={"error": type(exc).__name__})
        else:
            if _serving_last_good:
                _serving_last_good = False
                log.info("capture.device_keys_from_database_again")
            return device
    return last_good_device(api_key)


def last_good_device(api_key: str | None) -> AuthenticatedDevice:
    """The device the database last vouched for with this key, however long ago; 503 for a key never seen."""
    if not api_key:
        raise NotAuthenticated("send the device's API key in the X-Device-Key header")
    found = _key_cache.get(hash_key(api_key))
    if found is None:
        raise DeviceKeysUnavailable("数据库暂时无法访问，无法验证此设备密钥，请稍后重试 (PostgreSQL is unavailable "
                                    "and this key has not been checked before; retry later)")
    return found[1]


def _replace_cache(rows: Sequence[Any]) -> None:
    """Every active device's key: cached, and any other key dropped (disabled meanwhile)."""
    _cache_rows(rows)
    active = {row[0] for row in rows}
    with _key_cache_lock:
        for digest in [digest for digest in _key_cache if digest not in active]:
            del _key_cache[digest]


def _cache_rows(rows: Sequence[Any]) -> list[AuthenticatedDevice]:
    devices = [AuthenticatedDevice(id=row[1], code=row[2], checkpoint_id=row[3], checkpoint_code=row[4],
                                   checkpoint_lanes=row[5], lanes=tuple(row[6] or ()), direction=row[7], kind=row[8],
                                   retention_class=row[9])
               for row in rows]
    now = time.monotonic()
    with _key_cache_lock:
        _key_cache.update({row[0]: (now, device) for row, device in zip(rows, devices, strict=True)})
    return devices


def check_push(device: AuthenticatedDevice, push: PassPush, now: datetime, *, retention: RetentionSettings) -> str:
    """Refuse a record that cannot be right; returns the normalized plate."""
    device.require_kind("smart", "/ingest/passes")
    if push.device_id != device.code:
        raise PassRefused(f"device_id {push.device_id!r} does not match the key's device {device.code!r}")
    check_time_and_place(device, "pass_time", push.pass_time, push.lane_no, push.direction, now, retention=retention)
    kinds = [image.type for image in push.images]
    if len(set(kinds)) != len(kinds):
        raise PassRefused(f"images: at most one of each type, got {kinds}")
    plate = normalize_plate(push.plate_no)
    if not plate:
        raise PassRefused(f"plate_no {push.plate_no!r} has no letters or digits")
    if len(plate) > PLATE_MAX_CHARS:  # NFKC can grow text (㍿ -> 4 letters): the pass table would refuse it later
        raise PassRefused(f"号牌号码规范化后超过 {PLATE_MAX_CHARS} 个字符 (plate_no {push.plate_no!r} normalises to "
                          f"{len(plate)} characters, more than {PLATE_MAX_CHARS})")
    return plate


def check_time_and_place(device: AuthenticatedDevice, time_name: str, at: datetime, lane: int,
                         direction: str, now: datetime, *, retention: RetentionSettings) -> None:
    """Refuse a time the clock cannot be right about or retention would soon remove (the site's days for
    the checkpoint's class, less a margin: settings_groups.INGEST_MARGIN), and a lane or direction the
    device does not watch."""
    if at > now + MAX_FUTURE:
        raise PassRefused(f"{time_name} {at.isoformat()} is more than {MAX_FUTURE} in the future "
                          f"(server time {now.isoformat()}): check the camera's clock")
    oldest = retention.ingest_age_limit(device.retention_class)
    if at < now - oldest:
        kept = retention.days_by_class()[device.retention_class]
        raise PassRefused(f"{time_name} {at.isoformat()} 超过接收时限：本卡口为{device.retention_class}类卡口，"
                          f"过车只保留 {kept} 天，只接收 {oldest.days} 天内的记录 (older than the {oldest.days} days "
                          f"accepted where passes are kept {kept} days)")
    if lane not in device.allowed_lanes():
        raise PassRefused(f"lane {lane}: this device covers lanes {list(device.allowed_lanes())}")
    if device.direction is not None and direction != device.direction:
        raise PassRefused(f"direction {direction!r}: this device watches {device.direction!r}")


def pass_id_of(device: AuthenticatedDevice, push: PassPush, plate: str) -> uuid.UUID:
    """The pass id: derived from what identifies the record when the device numbers it, else random.

    A camera's record id alone does not identify a pass: a camera whose counter restarts (reboot,
    firmware update) numbers new passes with old ids. So the id is derived from the device, the
    record id, the UTC instant and the normalized plate: an exact retry gets the same id (and is
    stored once), a reused record id with another time or plate gets its own. The pass table's key
    is (id, captured_at) and it is partitioned by day, so PostgreSQL cannot refuse one id at two
    times; an id that fixes the time makes (id, captured_at) as unique as the id.
    """
    if push.record_id is None:
        return uuid.uuid4()
    instant = push.pass_time.astimezone(UTC).isoformat()
    return uuid.uuid5(RECORD_NAMESPACE, f"{device.code}/{push.record_id}/{instant}/{plate}")


@dataclass(frozen=True)
class VehicleDescription:
    """What a GA/T 1400 camera says about the vehicle itself, in passes/vehicle.py words."""

    colour: str | None = None
    type: str | None = None
    brand: str | None = None


def accept_push(bus: Redis, device: AuthenticatedDevice, push: PassPush, data_dir: Path,
                now: datetime, *, retention: RetentionSettings, vehicle: VehicleDescription | None = None,
                source: str = "smart") -> CapturedPass:
    """Validate everything, then store the images and append the pass to the reads stream.

    Nothing is written when anything is wrong. An exact retry of a numbered record gets the same
    pass id (pass_id_of), so it is stored once. Images go to paths named by the pass id and a hash
    of their bytes, written only where nothing is (a stored image is never overwritten); on a
    failure the files of an unnumbered record are removed (nothing else can refer to them).
    The pass comes first: an image the data directory cannot take (disk full, read-only) is left
    out (its path None) rather than the pass refused, and /health reports the directory.
    """
    plate = check_push(device, push, now, retention=retention)
    jpegs = {image.type: images.decode_jpeg(image.type, image.data) for image in push.images}
    pass_id = pass_id_of(device, push, plate)
    captured_at = push.pass_time.astimezone(UTC)
    paths = {kind: images.content_relpath(captured_at, device.checkpoint_code, pass_id, kind, raw)
             for kind, raw in jpegs.items()}
    created: list[str] = []
    try:
        for kind, raw in jpegs.items():
            try:
                if images.write_image(data_dir, paths[kind], raw):
                    created.append(paths[kind])
            except OSError as exc:
                del paths[kind]
                _image_not_stored(device, exc)
        captured = CapturedPass(
            pass_id=pass_id, checkpoint_id=device.checkpoint_id, plate=plate, captured_at=captured_at,
            plate_colour=push.plate_colour, plate_type=plate_type_of(plate, PlateColour(push.plate_colour)).value,
            confidence=push.plate_confidence or 0.0, device_id=device.id,
            lane=push.lane_no, direction=push.direction, speed_kmh=push.speed, image_path=paths.get("scene"),
            plate_image_path=paths.get("plate"), source=source,
            vehicle_colour=vehicle.colour if vehicle else None, vehicle_type=vehicle.type if vehicle else None,
            vehicle_brand=vehicle.brand if vehicle else None,
        )
        bus.xadd(READS_STREAM, captured.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
        PASSES_IN.labels("smart").inc()
    except BaseException:
        if push.record_id is None:  # a numbered record's files are kept for its retry (a concurrent
            images.remove_images(data_dir, created)  # exact retry may already refer to them)
        raise
    return captured


IMAGE_FAILURE_LOG_EVERY_S = 10.0
_image_failures = [0.0, 0]  # when last logged (monotonic), images left out since


def _image_not_stored(device: AuthenticatedDevice, exc: OSError) -> None:
    """One warning every IMAGE_FAILURE_LOG_EVERY_S with the count, not one per image."""
    now = time.monotonic()
    _image_failures[1] += 1
    if now - _image_failures[0] >= IMAGE_FAILURE_LOG_EVERY_S:
        log.warning("capture.image_not_stored", extra={"device": device.code, "errno": exc.errno,
                                                       "images_left_out": _image_failures[1]})
        _image_failures[:] = [now, 0]
