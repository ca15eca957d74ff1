"""What /health reports: the servers, the data directory, the streams' lag and the dead letters.

Load balancers and the site's monitoring read it without logging in, so it says how things are
and never what is in them: no URLs, paths, error texts or plates. Overall:
- down: Redis cannot be reached, so no push can be accepted;
- degraded: something is wrong but pushes are still accepted (PostgreSQL unreachable: passes wait
  in the reads stream; the data directory unwritable or nearly full; a consumer group far behind);
- ok otherwise. HTTP 200 for ok, 503 for the others.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from redis import Redis
from redis.exceptions import ResponseError
from sqlalchemy import Engine, text

from checkpoint.core.bus import DEAD_STREAM, PASSES_STREAM, READS_STREAM

MIN_FREE_BYTES = 1 << 30  # less free space than this under the data directory is degraded
MAX_STREAM_LAG = 50_000  # entries a consumer group may be behind (~100 s at the 480/s design rate)
LAGGED_STREAMS = (READS_STREAM, PASSES_STREAM)

Status = Literal["ok", "degraded", "down"]


class ServerCheck(BaseModel):
    reachable: bool
    latency_ms: float | None  # one round trip (SELECT 1, PING)


class DiskCheck(BaseModel):
    writable: bool  # a small file was written, synced and removed in the data directory
    free_bytes: int | None
    total_bytes: int | None


class GroupLag(BaseModel):
    stream: str
    group: str
    lag: int | None  # entries not yet delivered to the group (None: Redis cannot tell, e.g. after a trim)
    pending: int  # delivered, not yet acknowledged
    consumers: int


class Checks(BaseModel):
    postgres: ServerCheck
    redis: ServerCheck
    disk: DiskCheck


class Health(BaseModel):
    status: Status
    postgres: Literal["up", "down"]  # kept as they were: load balancers and tests read these
    redis: Literal["up", "down"]
    version: str
    checks: Checks
    streams: list[GroupLag]
    dead_letters: int | None  # entries in checkpoint:dead (None: Redis unreachable)
    problems: list[str]  # stable names of what makes it degraded or down


def check_postgres(engine: Engine | None) -> ServerCheck:
    if engine is None:
        return ServerCheck(reachable=False, latency_ms=None)
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure means unreachable: health must answer, not raise
        return ServerCheck(reachable=False, latency_ms=None)
    return ServerCheck(reachable=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))


def check_redis(bus: Redis | None) -> ServerCheck:
    if bus is None:
        return ServerCheck(reachable=False, latency_ms=None)
    started = time.perf_counter()
    try:
        bus.ping()
    except Exception:
        return ServerCheck(reachable=False, latency_ms=None)
    return ServerCheck(reachable=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))


def check_disk(data_dir: Path) -> DiskCheck:
    """A real write in the data directory (root ignores permissions, so only a write can tell), and its space."""
    writable = True
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".health-", suffix=".tmp") as probe:
            probe.write(b"checkpoint health probe\n")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError:
        writable = False
    existing = data_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        usage = shutil.disk_usage(existing)
    except OSError:
        return DiskCheck(writable=writable, free_bytes=None, total_bytes=None)
    return DiskCheck(writable=writable, free_bytes=usage.free, total_bytes=usage.total)


def stream_lags(bus: Redis) -> list[GroupLag]:
    """Each consumer group of the pass streams (those that exist): lag and pending, from XINFO GROUPS."""
    lags: list[GroupLag] = []
    for stream in LAGGED_STREAMS:
        try:
            groups: Any = bus.xinfo_groups(stream)
        except ResponseError:  # no such stream yet
            continue
        for group in groups:
            lag = group.get("lag")
            lags.append(GroupLag(stream=stream, group=str(group["name"]), lag=None if lag is None else int(lag),
                                 pending=int(group.get("pending") or 0), consumers=int(group.get("consumers") or 0)))
    return lags


def report(engine: Engine | None, bus: Redis | None, data_dir: Path, version: str) -> Health:
    postgres = check_postgres(engine)
    redis = check_redis(bus)
    disk = check_disk(data_dir)
    streams: list[GroupLag] = []
    dead: int | None = None
    if redis.reachable and bus is not None:
        try:
            streams = stream_lags(bus)
            dead = int(bus.xlen(DEAD_STREAM))
        except Exception:  # Redis went away between the ping and now
            redis = ServerCheck(reachable=False, latency_ms=None)
    problems = []
    if not redis.reachable:
        problems.append("redis-unreachable")
    if not postgres.reachable:
        problems.append("postgres-unreachable")
    if not disk.writable:
        problems.append("data-dir-unwritable")
    if disk.free_bytes is not None and disk.free_bytes < MIN_FREE_BYTES:
        problems.append("data-dir-low-space")
    problems += [f"stream-lag:{item.stream}:{item.group}" for item in streams
                 if item.lag is not None and item.lag > MAX_STREAM_LAG]
    status: Status = "down" if not redis.reachable else "degraded" if problems else "ok"
    return Health(status=status, postgres="up" if postgres.reachable else "down",
                  redis="up" if redis.reachable else "down", version=version,
                  checks=Checks(postgres=postgres, redis=redis, disk=disk), streams=streams, dead_letters=dead,
                  problems=problems)
