"""A passes writer beside a capture benchmark, so pass latency is measured to the stored pass.

The writer runs as `checkpoint serve` runs it (a thread, COPY overlapped with Redis work) on the
benchmark database (`bench.traffic_db`, which has the reference checkpoints), on the same two
cores as the capture processes: its cost is part of "frame to stored".
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from redis import Redis

from bench.traffic_db import bench_engine
from checkpoint.core.bus import PASSES_STREAM
from checkpoint.passes.record import PassEvent
from checkpoint.passes.writer import PassWriter


class StoringWriter:
    """A PassWriter thread on the benchmark database; `latencies` reads the events it appended."""

    def __init__(self, redis_url: str) -> None:
        self.bus = Redis.from_url(redis_url, decode_responses=True)
        self.bus.delete(PASSES_STREAM)
        self.stop = threading.Event()
        writer = PassWriter(bench_engine(), self.bus, consumer="bench-capture", block_ms=50)
        self.thread = threading.Thread(target=writer.run, args=(self.stop,), name="bench-writer", daemon=True)

    def start(self) -> StoringWriter:
        self.thread.start()
        return self

    def finish(self, grace_s: float = 3.0) -> None:
        """Let the last passes of the run be stored, then stop."""
        time.sleep(grace_s)
        self.stop.set()
        self.thread.join()

    def latencies(self, since: datetime) -> list[float]:
        """Seconds from each pass's best frame to its event, appended after the commit."""
        found = []
        entries: list[tuple[str, dict[str, str]]] = self.bus.xrange(PASSES_STREAM)  # type: ignore[assignment]
        for entry_id, fields in entries:
            event = PassEvent.from_fields(fields)
            if event.captured.captured_at >= since:
                found.append(int(entry_id.split("-")[0]) / 1000 - event.captured.captured_at.timestamp())
        return found
