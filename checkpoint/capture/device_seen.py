"""A pushing device was heard from: its pushes, keepalives and registrations, in one Redis hash per device.

`checkpoint:device:{id}` holds when it was last seen and by what, its last pass and last error; the
health monitor (device_health.py) turns silence into offline and outages. Writes are throttled per
process to one a second per device: at 480 pushes/s the hash is not the cost of a push.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from redis import Redis

WRITE_EVERY_S = 1.0
_last_write: dict[tuple[int, str], float] = {}
_lock = threading.Lock()


def device_key(device_id: int) -> str:
    return f"checkpoint:device:{device_id}"


def seen(bus: Redis, device_id: int, event: str, at: datetime, *, passed: bool = False, error: str = "",
         force: bool = False) -> None:
    """Record that the device spoke (event: push, keepalive, register, snapshot); `passed`: it sent a pass."""
    now = time.monotonic()
    with _lock:
        if not force and not error and now - _last_write.get((device_id, event), -WRITE_EVERY_S) < WRITE_EVERY_S:
            return
        _last_write[(device_id, event)] = now
    fields = {"last_seen": at.isoformat(), "last_event": event}
    if passed:
        fields["last_pass_at"] = at.isoformat()
    if error:
        fields["last_error"] = error[:300]
    bus.hset(device_key(device_id), mapping=fields)  # type: ignore[arg-type]  # redis stubs want a wider dict


def read_seen(bus: Redis, device_ids: list[int]) -> dict[int, dict[str, str]]:
    """Each device's hash as stored (empty for one never heard from)."""
    pipe = bus.pipeline(transaction=False)
    for device_id in device_ids:
        pipe.hgetall(device_key(device_id))
    return dict(zip(device_ids, pipe.execute(), strict=True))


def forget_throttle() -> None:
    """Tests: the next seen() writes."""
    with _lock:
        _last_write.clear()
