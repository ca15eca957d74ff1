"""A device that pushes to the API at a steady rate, for the ingest and snapshot benchmarks."""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from abc import ABCMeta, abstractmethod
from typing import Any


class PacedPusher(threading.Thread, metaclass=ABCMeta):
    """One device on one keep-alive connection: `push(index)` says what to send, `accepted` what came back.

    Records each accepted push's duration in `push_s` and each refusal or error in `errors`; a
    connection the server closed while idle is reopened and the push sent once more.
    """

    expected_status = 202

    def __init__(self, port: int, key: str, rate: float, until: float, errors: list[str],
                 push_s: list[float]) -> None:
        super().__init__(daemon=True)
        self.port, self.key, self.rate, self.until = port, key, rate, until
        self.errors, self.push_s = errors, push_s

    def more(self, index: int) -> bool:
        return True

    @abstractmethod
    def push(self, index: int) -> tuple[str, bytes, str]:
        """(path, body, content type) of push number `index` (from 0)."""

    def accepted(self, index: int, reply: Any, started: float) -> None:
        """Called with the decoded JSON reply of an accepted push."""

    def identity(self) -> dict[str, str]:
        """The header that says which device pushes (a GA/T 1400 camera sends User-Identify instead)."""
        return {"X-Device-Key": self.key}

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        interval = 1.0 / self.rate
        next_at = time.monotonic() + secrets.randbelow(1000) / 1000 * interval
        index = 0
        while next_at < self.until and self.more(index):
            time.sleep(max(0.0, next_at - time.monotonic()))
            path, body, content_type = self.push(index)
            headers = {**self.identity(), "Content-Type": content_type}
            started = time.monotonic()
            try:
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                    conn.close()  # the server closed the idle keep-alive connection: once more on a new one
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                payload = response.read()
                if response.status != self.expected_status:
                    self.errors.append(f"{response.status} {payload[:200]!r}")
                else:
                    self.accepted(index, json.loads(payload), started)
                    self.push_s.append(time.monotonic() - started)
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            index += 1
            next_at += interval
