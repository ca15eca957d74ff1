"""Nothing lost, nothing duplicated: a writer killed -9 mid-batch, and Redis killed and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import Engine, text

from checkpoint.core.bus import READS_STREAM, ensure_group
from checkpoint.core.redis_process import RedisServer, redis_server
from checkpoint.passes.record import CapturedPass
from checkpoint.passes.writer import GROUP, PassWriter
from tests.capture.helpers import captured
from tests.passes.streams import published_ids
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def make_passes(checkpoint_id: int, count: int) -> tuple[list[CapturedPass], datetime, datetime]:
    """`count` passes 1 ms apart in a time window no other test uses, and that window."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2, hours=int(time.time()) % 20,
                                                                  seconds=int(time.time_ns()) % 3000)
    base = captured(checkpoint_id)
    return ([replace(base, pass_id=uuid.uuid4(), captured_at=start + timedelta(milliseconds=i))
             for i in range(count)], start, start + timedelta(milliseconds=count))


def push_all(bus: redis_lib.Redis, passes: list[CapturedPass]) -> None:
    pipe = bus.pipeline(transaction=False)
    for item in passes:
        pipe.xadd(READS_STREAM, item.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
    pipe.execute()


def counts(engine: Engine, start: datetime, end: datetime) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT count(*), count(DISTINCT id) FROM pass WHERE captured_at >= :s "
                                "AND captured_at < :e"), {"s": start, "e": end}).one()
        return int(row[0]), int(row[1])


def start_writer(engine: Engine, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHECKPOINT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "CHECKPOINT_REDIS_URL": redis_url}
    return subprocess.Popen([sys.executable, "-m", "checkpoint.passes.cli", "writer", "--batch", "400",
                             "--claim-idle-ms", "300"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))


def pending(bus: redis_lib.Redis) -> int:
    return int(bus.xpending(READS_STREAM, GROUP)["pending"])


def test_a_writer_killed_mid_batch_loses_and_duplicates_nothing(engine: Engine, own_redis: RedisServer,
                                                               tmp_path: Path) -> None:
    url = own_redis.url
    bus = own_redis.client()  # a server of its own: other runs flush the shared test database
    total = 12_000
    passes, start, end = make_passes(1, total)
    ensure_group(bus, READS_STREAM, GROUP)
    push_all(bus, passes)
    killed_with_pending = 0
    for threshold in (1, total // 3, 2 * total // 3):
        writer = start_writer(engine, url, tmp_path / "writer.log")
        wait_until(lambda t=threshold: counts(engine, start, end)[0] >= t, timeout_s=30,  # type: ignore[misc]
                   what=f"{threshold} passes stored")
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        killed_with_pending += pending(bus) > 0
    assert killed_with_pending >= 1, "no kill caught a batch in flight"
    writer = start_writer(engine, url, tmp_path / "writer.log")
    try:
        wait_until(lambda: counts(engine, start, end)[0] >= total and pending(bus) == 0, timeout_s=30,
                   what="every pass stored and acknowledged")
    finally:
        writer.terminate()
        writer.wait(timeout=10)
    assert counts(engine, start, end) == (total, total)
    assert set(published_ids(bus)) >= {str(item.pass_id) for item in passes}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


def test_redis_killed_and_restarted_loses_nothing(engine: Engine, own_redis: RedisServer) -> None:
    bus = own_redis.client()
    passes, start, end = make_passes(1, 300)
    ensure_group(bus, READS_STREAM, GROUP)
    push_all(bus, passes)
    writer = PassWriter(engine, bus, consumer="before", batch_size=100, block_ms=10, claim_idle_ms=100)
    writer.step()  # 100 stored and acked; 100 more read and left pending (the writer "dies" before storing)
    bus.xreadgroup(GROUP, "dead-consumer", {READS_STREAM: ">"}, count=100)
    own_redis.kill_and_restart()
    bus = own_redis.client()
    assert bus.xlen(READS_STREAM) == 300 and pending(bus) == 100
    writer = PassWriter(engine, bus, consumer="after", batch_size=100, block_ms=10, claim_idle_ms=100)
    wait_until(lambda: writer.step() == 0 and pending(bus) == 0, timeout_s=15, what="the stream drained")
    assert counts(engine, start, end) == (300, 300)
    assert set(published_ids(bus)) == {str(p.pass_id) for p in passes}


def start_writer_module(engine: Engine, redis_url: str, log: Path, fault: str = "") -> subprocess.Popen[bytes]:
    """`python -m checkpoint passes writer` as a site runs it, armed with CHECKPOINT_FAULT if given."""
    env = {**os.environ, "CHECKPOINT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "CHECKPOINT_REDIS_URL": redis_url, "CHECKPOINT_FAULT": fault}
    return subprocess.Popen([sys.executable, "-m", "checkpoint", "passes", "writer", "--batch", "400",
                             "--claim-idle-ms", "300"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))


@pytest.mark.parametrize("fault", ["writer.after_commit:2", "writer.mid_batch:3"])
def test_a_writer_killed_at_a_fault_point_loses_and_duplicates_nothing(engine: Engine, own_redis: RedisServer,
                                                                       tmp_path: Path, fault: str) -> None:
    """after_commit: a batch stored but neither published nor acked; mid_batch: half a batch checked, nothing
    stored of it (the batch before may be in flight). (The writer acks in its publish script, after the
    commit: stream.after_handle is not on its path.)"""
    bus = own_redis.client()
    total = 2_000
    passes, start, end = make_passes(1, total)
    ensure_group(bus, READS_STREAM, GROUP)
    push_all(bus, passes)
    log = tmp_path / "writer.log"
    writer = start_writer_module(engine, own_redis.url, log, fault)
    assert writer.wait(timeout=60) == -signal.SIGKILL, log.read_text()[-2000:]
    stored, _ = counts(engine, start, end)
    assert 0 < stored < total and pending(bus) > 0  # died with a batch in hand
    if fault.startswith("writer.after_commit"):
        assert len(published_ids(bus)) < stored  # committed, never published: the new writer must do it
    writer = start_writer_module(engine, own_redis.url, log)
    try:
        wait_until(lambda: counts(engine, start, end)[0] >= total and pending(bus) == 0, timeout_s=60,
                   what="every pass stored and acknowledged")
    finally:
        writer.terminate()
        writer.wait(timeout=10)
    assert counts(engine, start, end) == (total, total)
    assert set(published_ids(bus)) == {str(item.pass_id) for item in passes}
