"""Pushing devices' keys kept warm: looked up again in the background before their cache entry expires.

service caches an authenticated key for KEY_CACHE_S, so a disabled device is refused within that
time. Devices that start together then expire together: in bench_ingest the 120 cameras, connected in
the same second, all missed the cache at once every 10 s, and 120 lookups in the thread pool queued in
front of their pushes (pushes in those seconds took up to 240-310 ms, half of them over 60 ms). Looking a key up
again once it is 70-90 % of KEY_CACHE_S old (a random share each time) takes the lookups out of the
pushes' path and spreads them out; a device disabled meanwhile is refused when its entry expires, as before.
While PostgreSQL cannot be asked, a refresh gets the last good answer (service.authenticate_or_last_good)
and leaves the entry's age alone, so the key is asked again as soon as the database is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool

from checkpoint.capture.service import KEY_CACHE_S
from checkpoint.core.errors import DomainError

log = logging.getLogger(__name__)


class KeyRefresher:
    """Decides, on each push served from the cache, whether to look its key up again in a worker thread."""

    def __init__(self, after_s: tuple[float, float] = (0.7 * KEY_CACHE_S, 0.9 * KEY_CACHE_S)) -> None:
        self.after_s = after_s
        self._due: dict[str, float] = {}  # sha256 of a key -> when to look it up again (monotonic)
        self._running: set[asyncio.Task[None]] = set()  # kept, so a refresh is not collected mid-way

    def cached_hit(self, api_key: str, look_up: Callable[[], object]) -> None:
        """Called for a key found in the cache; starts `look_up` in a worker thread when the key is due."""
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        now = time.monotonic()
        due = self._due.get(digest)
        if due is not None and now < due:
            return
        self._due[digest] = now + random.uniform(*self.after_s)
        if due is None:
            return  # first seen here: due from now on
        task = asyncio.get_running_loop().create_task(self._refresh(look_up))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    @staticmethod
    async def _refresh(look_up: Callable[[], object]) -> None:
        try:
            await run_in_threadpool(look_up)
        except DomainError:
            pass  # disabled or unknown now: its cache entry runs out and the next push gets 401
        except Exception:
            log.warning("capture.device_key_refresh_failed", exc_info=True)
