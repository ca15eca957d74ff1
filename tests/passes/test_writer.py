"""The passes writer: batches from the reads stream stored once each, events out, acks after commit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import redis as redis_lib
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import DEAD_STREAM, PASSES_STREAM, READS_STREAM, ensure_group
from checkpoint.passes.events import PassEvent
from checkpoint.passes.models import Pass
from checkpoint.passes.writer import GROUP, PassWriter
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import captured, entries


def stored(sessions: sessionmaker[Session], ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    with sessions() as session:
        rows = session.execute(select(Pass.id, func.count()).where(Pass.id.in_(ids)).group_by(Pass.id))
        return {row[0]: row[1] for row in rows}


def first_checkpoint(sessions: sessionmaker[Session]) -> Checkpoint:
    with sessions() as session:
        checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
        assert checkpoint is not None
        return checkpoint


def test_a_batch_is_stored_published_and_acked(engine: Engine, sessions: sessionmaker[Session],
                                               bus: redis_lib.Redis) -> None:
    checkpoint = first_checkpoint(sessions)
    now = datetime.now(UTC)
    passes = [captured(checkpoint.id, when=now - timedelta(days=day, minutes=i)) for i, day in
              enumerate([0, 0, 1, 3, 20])]
    ensure_group(bus, READS_STREAM, GROUP)
    for item in passes:
        bus.xadd(READS_STREAM, item.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
    writer = PassWriter(engine, bus, consumer="t1", block_ms=10)
    assert writer.step() == 5
    ids = [item.pass_id for item in passes]
    assert stored(sessions, ids) == dict.fromkeys(ids, 1)
    events = [PassEvent.from_fields(fields) for _, fields in entries(bus, PASSES_STREAM)]
    assert [event.captured for event in events] == passes
    assert {(event.lat, event.lon) for event in events} == {(checkpoint.lat, checkpoint.lon)}
    assert bus.xpending(READS_STREAM, GROUP)["pending"] == 0
    with sessions() as session:
        row = session.get(Pass, (passes[0].pass_id, passes[0].captured_at))
        assert row is not None and row.plate == passes[0].plate and row.speed_kmh == 50.0 and row.lane == 1


def test_a_redelivered_batch_is_stored_once_and_published_again(engine: Engine, sessions: sessionmaker[Session],
                                                                bus: redis_lib.Redis) -> None:
    checkpoint = first_checkpoint(sessions)
    old = [captured(checkpoint.id) for _ in range(3)]
    new = [captured(checkpoint.id) for _ in range(2)]
    writer = PassWriter(engine, bus, consumer="t2", block_ms=10)
    writer.handle([(f"{i + 1}-0", item.to_fields()) for i, item in enumerate(old)])
    # the writer died after its commit: the same messages come again, with two new ones
    ensure_group(bus, READS_STREAM, GROUP)
    writer.handle([(f"{i + 1}-0", item.to_fields()) for i, item in enumerate(old + new)])
    ids = [item.pass_id for item in old + new]
    assert stored(sessions, ids) == dict.fromkeys(ids, 1)
    published = [PassEvent.from_fields(fields).pass_id for _, fields in entries(bus, PASSES_STREAM)]
    assert sorted(published) == sorted([str(i) for i in ids] + [str(item.pass_id) for item in old])


def test_unknown_checkpoints_and_malformed_messages_go_to_the_dead_letters(
        engine: Engine, sessions: sessionmaker[Session], bus: redis_lib.Redis) -> None:
    checkpoint = first_checkpoint(sessions)
    good = captured(checkpoint.id)
    ensure_group(bus, READS_STREAM, GROUP)
    bus.xadd(READS_STREAM, captured(999_999).to_fields())  # type: ignore[arg-type]  # redis stubs
    bus.xadd(READS_STREAM, {"plate": "粤A12345", "checkpoint_id": "x"})
    bus.xadd(READS_STREAM, good.to_fields())  # type: ignore[arg-type]  # redis stubs
    writer = PassWriter(engine, bus, consumer="t3", block_ms=10)
    assert writer.step() == 3
    assert stored(sessions, [good.pass_id]) == {good.pass_id: 1}
    reasons = sorted(fields["_reason"] for _, fields in entries(bus, DEAD_STREAM))
    assert len(reasons) == 2 and "malformed" in reasons[0] and "unknown checkpoint 999999" in reasons[1]
    assert bus.xpending(READS_STREAM, GROUP)["pending"] == 0
    assert writer.stats.dead == 2 and writer.stats.passes == 1


def test_a_value_postgresql_refuses_sends_only_its_pass_to_the_dead_letters(
        engine: Engine, sessions: sessionmaker[Session], bus: redis_lib.Redis) -> None:
    """The batch is COPYed from the stream fields as they are; a bad value falls back to row by row."""
    checkpoint = first_checkpoint(sessions)
    good = [captured(checkpoint.id) for _ in range(3)]
    not_a_number = {**captured(checkpoint.id).to_fields(), "speed_kmh": "fast"}
    framing = {**captured(checkpoint.id).to_fields(), "lane": "1\t2\n3"}  # would add a row to the COPY text
    naive = {**captured(checkpoint.id).to_fields(), "captured_at": "2026-11-25T10:00:00"}
    ensure_group(bus, READS_STREAM, GROUP)
    for fields in (good[0].to_fields(), not_a_number, good[1].to_fields(), framing, naive, good[2].to_fields()):
        bus.xadd(READS_STREAM, fields)  # type: ignore[arg-type]  # redis stubs want a wider dict
    writer = PassWriter(engine, bus, consumer="t4", block_ms=10)
    assert writer.step() == 6
    ids = [item.pass_id for item in good]
    assert stored(sessions, ids) == dict.fromkeys(ids, 1)
    assert stored(sessions, [uuid.UUID(not_a_number["pass_id"]), uuid.UUID(framing["pass_id"])]) == {}
    reasons = [fields["_reason"] for _, fields in entries(bus, DEAD_STREAM)]
    assert len(reasons) == 3 and any("no UTC offset" in r for r in reasons) and any("fast" in r for r in reasons)
    assert [fields["pass_id"] for _, fields in entries(bus, PASSES_STREAM)] == [str(i) for i in ids]
    assert bus.xpending(READS_STREAM, GROUP)["pending"] == 0


def test_a_redis_that_forgot_the_publish_script_gets_it_again(engine: Engine, sessions: sessionmaker[Session],
                                                              bus: redis_lib.Redis) -> None:
    checkpoint = first_checkpoint(sessions)
    writer = PassWriter(engine, bus, consumer="t5", block_ms=10)
    ensure_group(bus, READS_STREAM, GROUP)
    for _round in range(2):
        bus.script_flush()  # as after a restart without persistence of the script cache
        item = captured(checkpoint.id)
        bus.xadd(READS_STREAM, item.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
        assert writer.step() == 1
        assert entries(bus, PASSES_STREAM)[-1][1]["pass_id"] == str(item.pass_id)
    assert bus.xpending(READS_STREAM, GROUP)["pending"] == 0
