"""Snapshot cameras push JPEGs: each is checked, stored and queued here; LPR workers read it later.

The API does not read plates itself: a read costs ~100 ms of CPU, which would hold the server's
threads and starve every other request. It writes the JPEG where the pass's scene image belongs
and appends a QueuedSnapshot to `checkpoint:snapshots` (see snapshot_worker.py). The snapshot id
becomes the pass id, so every later step is idempotent on it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis

from checkpoint.capture.service import AuthenticatedDevice, PassRefused, check_time_and_place
from checkpoint.core.bus import Fields
from checkpoint.core.settings_groups import RetentionSettings
from checkpoint.passes import images

SNAPSHOTS_STREAM = "checkpoint:snapshots"
SNAPSHOT_NAMESPACE = uuid.UUID("0b7f3c1e-4f0a-4d55-8d2b-6a3c9e1f7b22")


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

    A snapshot the device numbers (`snapshot_ref`) gets an id derived from it, so a retried push
    is read and stored once.
    """
    device.require_kind("snapshot", "/ingest/snapshots")
    direction = direction or device.direction
    if direction is None:
        raise PassRefused("direction: say 'in' or 'out' (this device is registered without one)")
    taken_at = (taken_at or now).astimezone(UTC)
    check_time_and_place(device, "taken_at", taken_at, lane, direction, now, retention=retention)
    images.check_jpeg("the snapshot", jpeg)
    snapshot_id = (uuid.uuid5(SNAPSHOT_NAMESPACE, f"{device.code}/{snapshot_ref}") if snapshot_ref
                   else uuid.uuid4())
    queued = QueuedSnapshot(snapshot_id=snapshot_id, device_id=device.id, checkpoint_id=device.checkpoint_id,
                            checkpoint_code=device.checkpoint_code, lane=lane, direction=direction,
                            taken_at=taken_at,
                            image_path=images.image_relpath(taken_at, device.checkpoint_code, snapshot_id, "scene"))
    try:
        images.write_image(data_dir, queued.image_path, jpeg)
        bus.xadd(SNAPSHOTS_STREAM, queued.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
    except BaseException:
        if snapshot_ref is None:  # a retry of a numbered snapshot may be overwriting a stored pass's image
            images.remove_images(data_dir, [queued.image_path])
        raise
    return queued
