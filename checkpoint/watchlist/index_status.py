"""Where the watch index stands, for the console: the change log's version in PostgreSQL, the Redis
index's, and each live matcher's (reported by the matchers themselves, best effort)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from checkpoint.watchlist.change_log import database_version
from checkpoint.watchlist.index import MATCHERS_KEY, index_version
from checkpoint.watchlist.schemas import IndexStatus, MatcherReport

MATCHER_GONE_S = 30.0  # a matcher silent this long has stopped: its report is dropped
REPORT_EVERY_S = 1.0
REPORT_TTL_S = 60  # the report hash vanishes a minute after the last matcher's report

REDIS_DOWN = "布控已保存，索引同步中（Redis 不可达）Saved; it takes effect once Redis is reachable again"
SYNCING = "布控已保存，索引同步中 Saved; the index is being brought up to date"


def index_status(bus: Redis, session: Session) -> IndexStatus:
    wanted = database_version(session)
    try:
        redis_version = index_version(bus)
        reports: Any = bus.hgetall(MATCHERS_KEY)
    except RedisError:
        return IndexStatus(database_version=wanted, redis_reachable=False, redis_version=None, matchers=[],
                           in_force=False, notice=REDIS_DOWN)
    now = time.time()
    matchers: list[MatcherReport] = []
    for consumer, text in sorted(reports.items()):
        report = json.loads(text)
        if now - float(report["at"]) > MATCHER_GONE_S:
            continue
        matchers.append(MatcherReport(consumer=consumer, version=int(report["version"]),
                                      reported_at=datetime.fromtimestamp(float(report["at"]), UTC),
                                      current=int(report["version"]) >= wanted))
    in_force = redis_version is not None and redis_version >= wanted
    return IndexStatus(database_version=wanted, redis_reachable=True, redis_version=redis_version,
                       matchers=matchers, in_force=in_force, notice=None if in_force else SYNCING)


def notice_after_change(bus: Redis) -> str:
    """Why a change just committed is not in force yet."""
    try:
        bus.ping()
    except RedisError:
        return REDIS_DOWN
    return SYNCING


class MatcherReporter:
    """A matcher's report of the version it matches with: at most once a second unless it changed,
    best effort (a Redis error only skips it)."""

    def __init__(self, bus: Redis, consumer: str) -> None:
        self.bus, self.consumer = bus, consumer
        self._due_at, self._version = 0.0, -1

    def report(self, version: int) -> None:
        now = time.time()
        if now < self._due_at and version == self._version:
            return
        try:
            pipe = self.bus.pipeline(transaction=False)
            pipe.hset(MATCHERS_KEY, self.consumer, json.dumps({"version": version, "at": now}))
            pipe.expire(MATCHERS_KEY, REPORT_TTL_S)
            pipe.execute()
        except RedisError:
            return
        self._due_at, self._version = now + REPORT_EVERY_S, version
