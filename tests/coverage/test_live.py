"""The live consumer on the real pass stream: PassEvents in, shares per area and checkpoint out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import PASSES_STREAM, ensure_group
from checkpoint.core.streams import StreamConsumer
from checkpoint.coverage import service
from checkpoint.coverage.traffic import generate
from checkpoint.coverage.worker import GROUP, VERDICTS_KEY, LiveCoverage, live_shares, record, run
from checkpoint.passes.record import CapturedPass, PassEvent
from checkpoint.sites.models import Checkpoint
from tests.waiting import wait_until


def test_pass_stream_shares_agree_with_the_static_analysis(session: Session, bus: redis_lib.Redis, client: TestClient,
                                                           auth_headers: Callable[..., dict[str, str]]) -> None:
    model = service.model(session)
    ids = {code: cp_id for cp_id, code in session.execute(select(Checkpoint.id, Checkpoint.code))}
    traffic = generate(model, trips=150, seed=11)
    ensure_group(bus, PASSES_STREAM, GROUP)
    for sighting in traffic.sightings:
        captured = CapturedPass(checkpoint_id=ids[sighting.code], plate=sighting.plate, captured_at=sighting.seen_at,
                                direction=sighting.direction, source="test")
        bus.xadd(PASSES_STREAM, PassEvent(captured, lat=23.0, lon=114.0).to_fields())  # type: ignore[arg-type]  # str fields
    live = LiveCoverage(session, window_s=900)
    stream: StreamConsumer[tuple[str, dict[str, str]]] = StreamConsumer(bus, PASSES_STREAM, GROUP, "test", block_ms=10)
    while (batch := stream.read()).messages:
        live.handle(bus, batch.messages)
        stream.done([msg_id for msg_id, _ in batch.messages])
    record(bus, live.verifier.flush())
    shares = live_shares(bus, [a.code for a in model.areas], [c.code for c in model.checkpoints])
    seen = [t for t in traffic.crossings if t.static_captures > 0]
    for area in shares["areas"]:
        mine = [t for t in seen if t.area == area["code"]]
        assert area["crossings"] == len(mine)
        if mine:
            assert area["double"] == sum(t.static_captures >= 2 for t in mine)
    assert sum(int(v) for v in shares["verdicts"].values()) == len(seen)

    response = client.get("/api/v1/coverage/live", headers=auth_headers("planner"))
    assert response.status_code == 200, response.text
    assert response.json()["areas"] == shares["areas"]
    by_reading = response.json()["by_reading"]  # the same passes, per area under the plan's reading
    assert by_reading["reading"]["counting"] == "jurisdiction" and len(by_reading["areas"]) == 8
    assert sum(a["crossings"] for a in by_reading["areas"]) > 0
    assert all(a["double"] <= a["crossings"] and isinstance(a["static_holds"], bool) for a in by_reading["areas"])


def test_consumer_loop_acks_and_counts(sessions: sessionmaker[Session], bus: redis_lib.Redis) -> None:
    with sessions() as session:
        rows = {code: cp_id for cp_id, code in session.execute(select(Checkpoint.id, Checkpoint.code))}
        model = service.model(session)
    traffic = generate(model, trips=40, seed=4)
    late = traffic.sightings[-1].seen_at + timedelta(hours=2)  # a later pass closes every crossing before it
    events = [*((s.plate, s.code, s.seen_at, s.direction) for s in traffic.sightings),
              ("粤LCLOSE", traffic.sightings[0].code, late, "in")]
    for plate, code, seen_at, direction in events:
        captured = CapturedPass(checkpoint_id=rows[code], plate=plate, captured_at=seen_at, direction=direction)
        bus.xadd(PASSES_STREAM, PassEvent(captured, lat=23.0, lon=114.0).to_fields())  # type: ignore[arg-type]  # str fields
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(bus, sessions, "test-consumer", stop, 900.0), daemon=True)
    worker.start()
    try:
        expected = sum(1 for t in traffic.crossings if t.static_captures > 0)
        wait_until(lambda: sum(int(v) for v in bus.hgetall(VERDICTS_KEY).values()) >= expected, timeout_s=20,
                   what="every crossing counted")
        wait_until(lambda: bus.xpending(PASSES_STREAM, GROUP)["pending"] == 0, timeout_s=10, what="all acked")
    finally:
        stop.set()
        worker.join(timeout=5)
