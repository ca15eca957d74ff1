"""Forward new alerts as JSON to the provincial platform, off the matcher's thread (never blocks matching)."""

from __future__ import annotations

import logging
import urllib.request
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class Webhook:
    def __init__(self, url: str | None, timeout_s: float = 3.0) -> None:
        self.url, self.timeout_s = url, timeout_s
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="watchlist-webhook") if url else None

    def send(self, body_json: str) -> None:
        if self._pool is not None:
            self._pool.submit(self._post, body_json)

    def _post(self, body_json: str) -> None:
        assert self.url is not None
        request = urllib.request.Request(self.url, data=body_json.encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 (configured URL)
                response.read()
        except OSError as exc:
            log.warning("watchlist.webhook_failed", extra={"error": str(exc)[:200]})

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
