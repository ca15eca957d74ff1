"""The passes writer: batches from the reads stream stored once each, events out, acks after commit."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis as redis_lib
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import DEAD_STREAM, READS_STREAM, ensure_group
from checkpoint.passes.models import Pass
from checkpoint.passes.writer import GROUP, PassWriter
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import captured, entries
from tests.passes.streams import legacy_fields, published, published_ids, with_value


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
    events = published(bus)
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
    assert sorted(published_ids(bus)) == sorted([str(i) for i in ids] + [str(item.pass_id) for item in old])


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
    """The batch is COPYed from the packed records as they are; a bad value falls back to row by row."""
    checkpoint = first_checkpoint(sessions)
    good = [captured(checkpoint.id) for _ in range(3)]
    bad = [captured(checkpoint.id) for _ in range(5)]
    refused = [
        with_value(bad[0], "speed_kmh", "fast"),  # PostgreSQL refuses it
        with_value(bad[1], "lane", "1\t2\n3"),  # would add a row to the COPY text
        with_value(bad[2], "captured_at", "2026-11-25T10:00:00"),  # naive
        with_value(bad[3], "plate_colour", ""),  # NULL in a NOT NULL column
        with_value(bad[4], "image_path", "a\\x41.jpg"),  # an escape to_record() never writes (COPY reads "aA")
    ]
    ensure_group(bus, READS_STREAM, GROUP)
    for fields in (good[0].to_fields(), *refused[:3], good[1].to_fields(), *refused[3:], good[2].to_fields()):
        bus.xadd(READS_STREAM, fields)  # type: ignore[arg-type]  # redis stubs want a wider dict
    writer = PassWriter(engine, bus, consumer="t4", block_ms=10)
    assert writer.step() == 8
    ids = [item.pass_id for item in good]
    assert stored(sessions, ids) == dict.fromkeys(ids, 1)
    assert stored(sessions, [item.pass_id for item in bad]) == {}
    reasons = [fields["_reason"] for _, fields in entries(bus, DEAD_STREAM)]
    assert len(reasons) == 5 and writer.stats.dead == 5
    for expected in ("no UTC offset", "fast", "18 values", "plate_colour", "unknown escape"):
        assert any(expected in reason for reason in reasons), (expected, reasons)
    assert published_ids(bus) == [str(i) for i in ids]
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
        assert published_ids(bus)[-1] == str(item.pass_id)
    assert bus.xpending(READS_STREAM, GROUP)["pending"] == 0


def test_an_entry_that_is_not_a_packed_record_is_parked_with_its_reason(
        engine: Engine, sessions: sessionmaker[Session], bus: redis_lib.Redis) -> None:
    """Only passes/record.py's codec writes reads: anything else is dead-lettered as it came, never stored."""
    checkpoint = first_checkpoint(sessions)
    good = captured(checkpoint.id)
    ensure_group(bus, READS_STREAM, GROUP)
    bus.xadd(READS_STREAM, legacy_fields(captured(checkpoint.id)))  # type: ignore[arg-type]  # redis stubs
    bus.xadd(READS_STREAM, good.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
    writer = PassWriter(engine, bus, consumer="t6", block_ms=10)
    assert writer.step() == 2
    assert stored(sessions, [good.pass_id]) == {good.pass_id: 1}
    assert [event.captured for event in published(bus)] == [good]
    [(_, dead)] = entries(bus, DEAD_STREAM)
    assert "captured.v2" in dead["_reason"] and "plate" in dead  # parked as it came
    assert bus.xpending(READS_STREAM, GROUP)["pending"] == 0


def test_values_with_tabs_newlines_and_backslashes_are_stored_and_published_unchanged(
        engine: Engine, sessions: sessionmaker[Session], bus: redis_lib.Redis) -> None:
    checkpoint = first_checkpoint(sessions)
    odd = replace(captured(checkpoint.id), plate_type="a\tb", direction="in\n", image_path="C:\\imgs\\1\t.jpg",
                  plate_image_path="\\N", source="x\ry")
    empty = replace(captured(checkpoint.id), direction=None, image_path=None, lane=None, speed_kmh=None)
    ensure_group(bus, READS_STREAM, GROUP)
    for item in (odd, empty):
        bus.xadd(READS_STREAM, item.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
    writer = PassWriter(engine, bus, consumer="t7", block_ms=10)
    assert writer.step() == 2
    assert [event.captured for event in published(bus)] == [odd, empty]
    with sessions() as session:
        row = session.get(Pass, (odd.pass_id, odd.captured_at))
        assert row is not None
        assert (row.plate_type, row.direction, row.image_path, row.plate_image_path) == (
            "a\tb", "in\n", "C:\\imgs\\1\t.jpg", "\\N")
        blank = session.get(Pass, (empty.pass_id, empty.captured_at))
        assert blank is not None and (blank.direction, blank.image_path, blank.lane, blank.speed_kmh) == (
            None, None, None, None)
    assert not bus.exists(DEAD_STREAM)


def test_overlapped_steps_publish_each_batch_after_its_commit(engine: Engine, sessions: sessionmaker[Session],
                                                              bus: redis_lib.Redis) -> None:
    """As run() does: batch N is COPYed on the copier thread while batch N+1 is read and checked."""
    checkpoint = first_checkpoint(sessions)
    passes = [captured(checkpoint.id) for _ in range(7)]
    refused = with_value(captured(checkpoint.id), "speed_kmh", "fast")  # found only by PostgreSQL, on the copier
    ensure_group(bus, READS_STREAM, GROUP)
    for fields in [item.to_fields() for item in passes[:4]] + [refused] + [item.to_fields() for item in passes[4:]]:
        bus.xadd(READS_STREAM, fields)  # type: ignore[arg-type]  # redis stubs want a wider dict
    writer = PassWriter(engine, bus, consumer="t8", batch_size=3, block_ms=10)
    ids = [str(item.pass_id) for item in passes]
    with ThreadPoolExecutor(max_workers=1) as copier:
        assert writer.step_overlapped(copier) == 3  # batch 1 in flight, nothing published yet
        assert published_ids(bus) == []
        assert writer.step_overlapped(copier) == 3  # batch 1 committed and published, batch 2 in flight
        assert published_ids(bus) == ids[:3]
        while writer.step_overlapped(copier):
            pass
        assert writer.step_overlapped(copier) == 0  # nothing read, nothing in flight
    writer.finish_in_flight()
    assert published_ids(bus) == ids
    assert stored(sessions, [item.pass_id for item in passes]) == dict.fromkeys([item.pass_id for item in passes], 1)
    [(_, dead)] = entries(bus, DEAD_STREAM)
    assert "fast" in dead["_reason"] and writer.stats.dead == 1 and writer.stats.passes == 7
    assert bus.xpending(READS_STREAM, GROUP)["pending"] == 0
