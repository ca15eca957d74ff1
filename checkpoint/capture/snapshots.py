"""Snapshot cameras push JPEGs: each is checked, stored and queued here; LPR workers read it later.

The API does not read plates itself: a read costs ~100 ms of CPU, which would hold the server's
threads and starve every other request. It writes the JPEG where the pass's scene image belongs
and appends a QueuedSnapshot to `checkpoint:snapshots` (see snapshot_worker.py). The snapshot id
becomes the pass id, so every later step is idempotent on it; snapshot_identity says how it is made.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis

from checkpoint.capture.service import AuthenticatedDevice, PassRefused, check_time_and_place
from checkpoint.core.bus import Fields
from checkpoint.core.errors import ServiceUnavailable
from checkpoint.core.settings_groups import RetentionSettings
from checkpoint.passes import images

SNAPSHOTS_STREAM = "checkpoint:snapshots"
SNAPSHOT_NAMESPACE = uuid.UUID("0b7f3c1e-4f0a-4d55-8d2b-6a3c9e1f7b22")
FIRST_SEEN_KEY = "checkpoint:snapshot:first:{ref_id}"  # when a numbered snapshot without taken_at came first
FIRST_SEEN_TTL_S = 24 * 3600


class ImageStorageUnavailable(ServiceUnavailable):
    reason = "image-storage-unavailable"


@dataclass(frozen=True)
class QueuedSnapshot:
    """A stored JPEG waiting for plate reading, with everything its pass will need."""

    snapshot_id: uuid.UUID
    device_id: int
    checkpoint_id: int
    checkpoint_code: str
    lane: int
    direction: str
    taken_at: datetime  # timezone-aware UTC
    image_path: str  # relative to the data directory

    def to_fields(self) -> Fields:
        return {key: value.isoformat() if isinstance(value, datetime) else str(value)
                for key, value in ((name, getattr(self, name)) for name in _FIELD_NAMES)}

    @classmethod
    def from_fields(cls, raw: Fields) -> QueuedSnapshot:
        return cls(snapshot_id=uuid.UUID(raw["snapshot_id"]), device_id=int(raw["device_id"]),
                   checkpoint_id=int(raw["checkpoint_id"]), checkpoint_code=raw["checkpoint_code"],
                   lane=int(raw["lane"]), direction=raw["direction"],
                   taken_at=datetime.fromisoformat(raw["taken_at"]), image_path=raw["image_path"])


_FIELD_NAMES = tuple(item.name for item in fields(QueuedSnapshot))


def accept_snapshot(bus: Redis, device: AuthenticatedDevice, jpeg: bytes, *, lane: int, direction: str | None,
                    taken_at: datetime | None, snapshot_ref: str | None, data_dir: Path,
                    now: datetime, retention: RetentionSettings) -> QueuedSnapshot:
    """Validate everything, store the JPEG, queue it for the LPR workers; nothing is written when refused.

    A snapshot the device numbers (`snapshot_ref`) gets an id derived from it (snapshot_identity),
    so a retried push is read and stored once. The JPEG goes to a path named by the id and a hash of
    its bytes, written only where nothing is: a stored image is never overwritten.
    """
    device.require_kind("snapshot", "/ingest/snapshots")
    direction = direction or device.direction
    if direction is None:
        raise PassRefused("direction: say 'in' or 'out' (this device is registered without one)")
    check_time_and_place(device, "taken_at", (taken_at or now).astimezone(UTC), lane, direction, now,
                         retention=retention)
    images.check_jpeg("the snapshot", jpeg)
    snapshot_id, taken_at = snapshot_identity(bus, device, jpeg, snapshot_ref, taken_at, now)
    queued = QueuedSnapshot(snapshot_id=snapshot_id, device_id=device.id, checkpoint_id=device.checkpoint_id,
                            checkpoint_code=device.checkpoint_code, lane=lane, direction=direction,
                            taken_at=taken_at,
                            image_path=images.content_relpath(taken_at, device.checkpoint_code, snapshot_id,
                                                              "scene", jpeg))
    try:
        try:
            images.write_image(data_dir, queued.image_path, jpeg)
        except OSError as exc:  # the photo is the pass here: without it there is nothing to read
            raise ImageStorageUnavailable("图片存储暂时不可写，请稍后重试 (the server cannot store the snapshot "
                                          "now: its disk is full or read-only; retry later)") from exc
        bus.xadd(SNAPSHOTS_STREAM, queued.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
    except BaseException:
        if snapshot_ref is None:  # a random id's file is this call's own; a numbered one's is kept for its retry
            images.remove_images(data_dir, [queued.image_path])
        raise
    return queued


def snapshot_identity(bus: Redis, device: AuthenticatedDevice, jpeg: bytes, snapshot_ref: str | None,
                      taken_at: datetime | None, now: datetime) -> tuple[uuid.UUID, datetime]:
    """The snapshot's id (its pass's id) and UTC time: random without a snapshot_ref, else derived.

    The derived id covers the device, the ref, the JPEG's sha256 and the time, so a camera that
    reuses a ref (counter reset) for another photo or another time makes another pass; the pass
    table cannot refuse one id at two times (see capture.service.pass_id_of). A push without
    `taken_at` is timed when received; so that its retries keep that time (and thus the id), the
    first receive time is kept in Redis for FIRST_SEEN_TTL_S (a later retry is a new pass, never a
    second row under one id).
    """
    if snapshot_ref is None:
        return uuid.uuid4(), (taken_at or now).astimezone(UTC)
    base = f"{device.code}/{snapshot_ref}/{hashlib.sha256(jpeg).hexdigest()}"
    if taken_at is None:
        key = FIRST_SEEN_KEY.format(ref_id=uuid.uuid5(SNAPSHOT_NAMESPACE, base))
        received = now.astimezone(UTC)
        if bus.set(key, received.isoformat(), nx=True, ex=FIRST_SEEN_TTL_S):
            taken_at = received
        else:
            first: str | None = bus.get(key)  # type: ignore[assignment]  # the bus decodes responses
            taken_at = datetime.fromisoformat(first) if first else received
    taken_at = taken_at.astimezone(UTC)
    return uuid.uuid5(SNAPSHOT_NAMESPACE, f"{base}/{taken_at.isoformat()}"), taken_at
