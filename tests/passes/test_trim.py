"""Trimming the streams never removes a pass some group has not acknowledged."""

from __future__ import annotations

import redis as redis_lib
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import PASSES_STREAM, READS_STREAM, Message
from checkpoint.core.stream_trim import trim_streams
from checkpoint.core.streams import StreamConsumer, ensure_declared_groups
from checkpoint.passes.record import PassEvent
from checkpoint.passes.writer import PassWriter
from checkpoint.watchlist.raw_stream import decoded
from checkpoint.watchlist.worker import GROUP as MATCHER_GROUP
from checkpoint.watchlist.worker import Matcher
from tests.capture.helpers import captured


def write_all(bus: redis_lib.Redis, writer: PassWriter, count: int) -> list[str]:
    """Append `count` passes to the reads stream and let the writer store and publish them all."""
    passes = [captured(1) for _ in range(count)]
    pipe = bus.pipeline(transaction=False)
    for item in passes:
        pipe.xadd(READS_STREAM, item.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
    pipe.execute()
    while writer.step():
        pass
    return [str(item.pass_id) for item in passes]


def drain_coverage(bus: redis_lib.Redis) -> None:
    """The other group on the passes stream keeps up (so only the matcher's group holds the trim back)."""
    stream: StreamConsumer[Message] = StreamConsumer(bus, PASSES_STREAM, "coverage", "cov", block_ms=10)
    while (batch := stream.read()).messages:
        stream.done([msg_id for msg_id, _ in batch.messages])


def matcher_sees(matcher: Matcher) -> list[str]:
    """Every pass the matcher reads from here on, acked as it goes (without matching: reading is the point)."""
    seen: list[str] = []
    while messages := matcher.read():
        seen += [PassEvent.from_fields(decoded(fields)).pass_id for _msg_id, fields in messages]
        matcher.stream.done([msg_id for msg_id, _ in messages])
    matcher.flush_acks()
    return seen


def test_trim_never_drops_passes_a_stopped_matcher_has_not_read(engine: Engine, sessions: sessionmaker[Session],
                                                                bus: redis_lib.Redis) -> None:
    ensure_declared_groups(bus)  # as `serve` and every worker do at start
    writer = PassWriter(engine, bus, consumer="fast-writer", batch_size=100, block_ms=10)
    first = write_all(bus, writer, 300)
    drain_coverage(bus)
    stopped = Matcher(bus, sessions, "matcher-before", batch=100)
    read_before = stopped.read()  # 100 passes read; 40 acked, then the matcher stops (killed: 60 stay pending)
    stopped.stream.done([msg_id for msg_id, _ in read_before[:40]])
    stopped.flush_acks()
    later = write_all(bus, writer, 300)  # the writer goes on while the matcher is stopped
    drain_coverage(bus)

    dropped = trim_streams(bus, approximate=False)

    assert dropped[READS_STREAM] == 600 and bus.xlen(READS_STREAM) == 0  # trimming is on: the writer acked all
    assert dropped[PASSES_STREAM] == 40 and bus.xlen(PASSES_STREAM) == 560  # only what every group acked
    restarted = Matcher(bus, sessions, "matcher-after", batch=100)
    restarted.stream.claim_idle_ms = 0  # the stopped matcher's pending passes are taken over at once
    seen = matcher_sees(restarted)
    acked_before = [PassEvent.from_fields(decoded(fields)).pass_id for _msg_id, fields in read_before[:40]]
    assert sorted(acked_before + seen) == sorted(first + later)  # every pass, none lost
    assert len(seen) == len(set(seen)) == 560
    assert bus.xpending(PASSES_STREAM, MATCHER_GROUP)["pending"] == 0
    trim_streams(bus, approximate=False)
    assert bus.xlen(PASSES_STREAM) == 0  # all acknowledged now: Redis holds only consumer lag
