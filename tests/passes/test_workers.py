"""The pass path's threads as `checkpoint serve` runs them: a pushed pass is stored, and they stop."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, text

from checkpoint.core.bus import READS_STREAM
from checkpoint.core.redis_process import redis_server
from checkpoint.passes.workers import start_background_workers
from tests.capture.helpers import captured
from tests.waiting import wait_until


def test_background_workers_store_passes_and_stop(engine: Engine, tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        bus = server.client()
        stop = threading.Event()
        threads = start_background_workers(engine, bus, tmp_path, stop)
        item = captured(1)
        bus.xadd(READS_STREAM, item.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict

        def stored() -> bool:
            with engine.connect() as conn:
                return conn.execute(text("SELECT 1 FROM pass WHERE id = :id"), {"id": item.pass_id}).first() is not None

        wait_until(stored, timeout_s=15, what="the pass stored by the background writer")
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in threads)
