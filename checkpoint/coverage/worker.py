"""The live coverage consumer: group `coverage` on `checkpoint:passes` -> crossings -> shares in Redis.

Open crossings live in this process's memory (a restart loses at most one window of them);
each closed crossing is counted once, in Redis hashes per area and per checkpoint by hour, so
the console reads the share of double-captured crossings over time without a table of its own.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import PASSES_STREAM, Message, dead_letter
from checkpoint.core.streams import Batch, StreamConsumer
from checkpoint.coverage import service
from checkpoint.coverage.build import CoverageInputError
from checkpoint.coverage.live_rule import AreaCrossing, ReadingTally, record_areas
from checkpoint.coverage.reading import Reading
from checkpoint.coverage.verifier import DEFAULT_WINDOW_S, Crossing, CrossingVerifier, RingIndex, Sighting
from checkpoint.passes.record import PassEvent
from checkpoint.sites.models import Checkpoint

log = logging.getLogger(__name__)

GROUP = "coverage"
AREA_KEY = "checkpoint:coverage:area:{code}"  # hash: "<hour>" crossings, "<hour>:double"
CHECKPOINT_KEY = "checkpoint:coverage:checkpoint:{code}"
VERDICTS_KEY = "checkpoint:coverage:verdicts"  # hash: verdict -> count
SINGLES_KEY = "checkpoint:coverage:singles"  # list: the latest single captures, newest first
SINGLES_KEPT = 200
REFRESH_S = 60.0  # re-read the placement (a checkpoint taken offline changes what a single capture means)
STATS_S = 10.0


class LiveCoverage:
    """The verifier with the static knowledge it needs, and the checkpoint ids the stream speaks in."""

    def __init__(self, session: Session, window_s: float = DEFAULT_WINDOW_S) -> None:
        built = service.model(session)
        self.codes = {cp_id: code for cp_id, code in session.execute(select(Checkpoint.id, Checkpoint.code))}
        index = RingIndex(built.network, built.areas, built.checkpoints, offline=built.inactive)
        self.verifier = CrossingVerifier(index, window_s)
        self.latest: datetime | None = None
        self.by_area: ReadingTally | None = None  # per area under the plan's reading, beside the rings
        try:
            self.by_area = ReadingTally(service.rule_setup(session, Reading()), window_s)
        except CoverageInputError as exc:  # e.g. no county polygons loaded: the ring verifier still runs
            log.warning("coverage.reading_unavailable", extra={"reason": str(exc)})

    def handle(self, bus: Redis, messages: Sequence[Message]) -> list[Crossing]:
        """Feed a batch of pass events to the verifier and record the crossings they close."""
        closed: list[Crossing] = []
        by_area: list[AreaCrossing] = []
        for msg_id, fields in messages:
            try:
                event = PassEvent.from_fields(fields)
            except (KeyError, ValueError) as exc:
                dead_letter(bus, PASSES_STREAM, GROUP, msg_id, fields, f"not a pass event: {exc}")
                continue
            code = self.codes.get(event.captured.checkpoint_id)
            if code is None:
                continue
            seen_at = event.captured.captured_at
            self.latest = seen_at if self.latest is None else max(self.latest, seen_at)
            sighting = Sighting(event.captured.plate, code, seen_at, event.captured.direction)
            closed += self.verifier.observe(sighting)
            if self.by_area is not None:
                by_area += self.by_area.observe(sighting)
        if self.latest is not None:
            closed += self.verifier.flush(self.latest)
            by_area += self.by_area.flush(self.latest) if self.by_area is not None else []
        record(bus, closed)
        record_areas(bus, by_area)
        return closed


def record(bus: Redis, crossings: Sequence[Crossing]) -> None:
    if not crossings:
        return
    pipe = bus.pipeline(transaction=False)
    for crossing in crossings:
        hour = crossing.first_at.strftime("%Y-%m-%dT%H")
        keys = [AREA_KEY.format(code=crossing.area), *(CHECKPOINT_KEY.format(code=c) for c in crossing.checkpoints)]
        for key in keys:
            pipe.hincrby(key, hour, 1)
            pipe.hincrby(key, f"{hour}:double", int(crossing.double))
        pipe.hincrby(VERDICTS_KEY, crossing.verdict, 1)
        if not crossing.double:
            single = {"area": crossing.area, "direction": crossing.direction, "at": crossing.first_at.isoformat(),
                      "checkpoint": crossing.checkpoints[0], "likely": crossing.verdict,
                      "missed": list(crossing.missed)}
            pipe.lpush(SINGLES_KEY, json.dumps(single))
    pipe.ltrim(SINGLES_KEY, 0, SINGLES_KEPT - 1)
    pipe.execute()


def _shares(raw: dict[str, str]) -> dict[str, Any]:
    hours = sorted(key for key in raw if not key.endswith(":double"))
    series: list[dict[str, Any]] = []
    for hour in hours:
        crossings, double = int(raw[hour]), int(raw.get(f"{hour}:double", 0))
        series.append({"hour": hour, "crossings": crossings, "double": double,
                       "share": round(double / crossings, 4) if crossings else None})
    total, double = sum(s["crossings"] for s in series), sum(s["double"] for s in series)
    return {"crossings": total, "double": double, "share": round(double / total, 4) if total else None,
            "hours": series}


def _hash(bus: Redis, key: str) -> dict[str, str]:
    raw: Any = bus.hgetall(key)  # the bus decodes responses: str keys and values
    return dict(raw)


def live_shares(bus: Redis, areas: Sequence[str], checkpoints: Sequence[str]) -> dict[str, Any]:
    """Per area and per checkpoint: crossings seen, double-captured, and the share, overall and by hour."""
    singles: Any = bus.lrange(SINGLES_KEY, 0, 19)
    return {
        "areas": [{"code": code, **_shares(_hash(bus, AREA_KEY.format(code=code)))} for code in areas],
        "checkpoints": [{"code": code, **_shares(_hash(bus, CHECKPOINT_KEY.format(code=code)))}
                        for code in checkpoints],
        "verdicts": _hash(bus, VERDICTS_KEY),
        "recent_singles": [json.loads(item) for item in singles],
    }


def _refreshed(sessions: sessionmaker[Session], live: LiveCoverage) -> LiveCoverage:
    """The verifier on the current placement (offline flags, moved checkpoints), keeping open crossings."""
    try:
        with sessions() as session:
            fresh = LiveCoverage(session, live.verifier.window_s)
    except CoverageInputError as exc:
        log.warning("coverage.live_refresh_failed", extra={"reason": str(exc)})
        return live
    fresh.verifier.open, fresh.latest = live.verifier.open, live.latest
    if fresh.by_area is not None and live.by_area is not None:
        fresh.by_area.open = live.by_area.open
    return fresh


def run(bus: Redis, sessions: sessionmaker[Session], consumer: str, stop: threading.Event,
        window_s: float = DEFAULT_WINDOW_S) -> None:
    """Consume pass events until `stop`; the placement is re-read every REFRESH_S, stats logged every STATS_S."""
    stream: StreamConsumer[Message] = StreamConsumer(bus, PASSES_STREAM, GROUP, consumer)
    stream.start()
    live: LiveCoverage | None = None
    while live is None:
        try:
            with sessions() as session:
                live = LiveCoverage(session, window_s)
        except CoverageInputError as exc:  # no roads or areas yet: wait for them rather than fail
            log.warning("coverage.live_waiting", extra={"reason": str(exc)})
            if stop.wait(60.0):
                return
    state = _LoopState(live)

    def handle(batch: Batch[Message]) -> None:
        state.crossings_closed += len(state.live.handle(bus, batch.messages))
        state.messages_seen += len(batch.messages)

    def tick() -> None:
        now = time.monotonic()
        if now - state.stats_at >= STATS_S:
            if state.messages_seen:
                log.info("coverage.stats", extra={"messages": state.messages_seen,
                                                  "crossings": state.crossings_closed,
                                                  "open": len(state.live.verifier.open)})
            state.stats_at, state.messages_seen, state.crossings_closed = now, 0, 0
        if now - state.refreshed_at >= REFRESH_S:
            state.live, state.refreshed_at = _refreshed(sessions, state.live), now

    stream.run(stop, handle, tick=tick)


class _LoopState:
    """What the loop keeps between batches: the verifier and the counts logged every STATS_S."""

    def __init__(self, live: LiveCoverage) -> None:
        self.live = live
        self.refreshed_at = self.stats_at = time.monotonic()
        self.messages_seen = self.crossings_closed = 0
