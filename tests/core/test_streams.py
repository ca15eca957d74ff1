"""StreamConsumer on a real Redis: claims, dead letters, acks after the handler, lost groups, stale consumers."""

from __future__ import annotations

from typing import Any

import psycopg2
import pytest
import redis as redis_lib
from sqlalchemy.exc import OperationalError

from checkpoint.core.bus import DEAD_STREAM, Message
from checkpoint.core.faults import FaultInjected, arm, disarm_all
from checkpoint.core.stream_trim import remove_stale_consumers, trim_stream
from checkpoint.core.streams import STREAM_GROUPS, Batch, RawMessage, StreamConsumer, ensure_declared_groups
from checkpoint.watchlist.raw_stream import raw_client

STREAM, GROUP = "checkpoint:test-stream", "test-group"


def append(bus: redis_lib.Redis, count: int, first: int = 0) -> list[str]:
    return [str(bus.xadd(STREAM, {"n": str(first + n)})) for n in range(count)]


def pending(bus: redis_lib.Redis) -> int:
    return int(bus.xpending(STREAM, GROUP)["pending"])


def consumer(bus: redis_lib.Redis, name: str, **options: Any) -> StreamConsumer[Message]:
    stream: StreamConsumer[Message] = StreamConsumer(bus, STREAM, GROUP, name, block_ms=10, **options)
    stream.start()
    return stream


class Recorder:
    """A handler that records what it handled and fails, as told, on some entries."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.seen: list[str] = []
        self.failing = failing or set()

    def __call__(self, batch: Batch[Message]) -> None:
        for _msg_id, fields in batch.messages:
            if fields["n"] in self.failing:
                raise ValueError(f"entry {fields['n']} breaks the handler")
        self.seen += [fields["n"] for _msg_id, fields in batch.messages]


@pytest.fixture(autouse=True)
def _disarm() -> Any:
    yield
    disarm_all()


def test_entries_a_dead_consumer_left_pending_are_claimed(bus: redis_lib.Redis) -> None:
    consumer(bus, "dead")
    append(bus, 3)
    bus.xreadgroup(GROUP, "dead", {STREAM: ">"}, count=10)  # taken, then the process died
    assert pending(bus) == 3
    handler = Recorder()
    alive = consumer(bus, "alive", claim_idle_ms=0)
    assert alive.step(handler)
    assert handler.seen == ["0", "1", "2"] and pending(bus) == 0
    owners: Any = bus.xinfo_consumers(STREAM, GROUP)
    assert {row["name"]: row["pending"] for row in owners} == {"dead": 0, "alive": 0}


def test_an_entry_failing_its_deliveries_is_dead_lettered_with_the_reason(bus: redis_lib.Redis) -> None:
    stream = consumer(bus, "c1", max_deliveries=3)
    ids = append(bus, 3)
    handler = Recorder(failing={"1"})
    with pytest.raises(ValueError):
        stream.step(handler)  # the whole batch fails once: read again first
    assert pending(bus) == 3 and handler.seen == []
    assert stream.step(handler) is False  # as a batch, then one by one: 0 and 2 done, 1 fails its 2nd delivery
    assert sorted(handler.seen) == ["0", "2"] and pending(bus) == 1 and bus.xlen(DEAD_STREAM) == 0
    assert stream.step(handler) is True  # its 3rd delivery: parked with the reason
    dead: Any = bus.xrange(DEAD_STREAM)
    [(_dead_id, fields)] = dead
    assert fields["_id"] == ids[1] and fields["_stream"] == STREAM and fields["_group"] == GROUP
    assert fields["_reason"] == "failed 3 deliveries; last error: ValueError('entry 1 breaks the handler')"
    assert fields["n"] == "1" and pending(bus) == 0


@pytest.mark.parametrize("error", [OperationalError("SELECT 1", {}, Exception("connection refused")),
                                   psycopg2.OperationalError("server closed the connection unexpectedly")])
def test_an_infrastructure_error_never_dead_letters(bus: redis_lib.Redis, error: Exception) -> None:
    stream = consumer(bus, "c1", max_deliveries=1)
    append(bus, 2)

    def database_down(batch: Batch[Message]) -> None:
        raise error

    for _attempt in range(3):
        with pytest.raises(type(error)):
            stream.step(database_down)
    assert pending(bus) == 2 and bus.xlen(DEAD_STREAM) == 0


def test_an_entry_is_acked_only_after_the_handler_returned(bus: redis_lib.Redis) -> None:
    stream = consumer(bus, "c1")
    append(bus, 2)
    handler = Recorder()
    arm("stream.after_handle")  # the process dies after the handler committed, before the ack
    with pytest.raises(FaultInjected):
        stream.step(handler)
    assert handler.seen == ["0", "1"] and pending(bus) == 2
    restarted = consumer(bus, "c1")  # the same consumer after a restart reads its own pending first
    assert restarted.step(handler)
    assert handler.seen == ["0", "1", "0", "1"] and pending(bus) == 0  # handled twice: handlers are idempotent


def test_the_group_is_created_again_after_redis_was_flushed(bus: redis_lib.Redis) -> None:
    stream = consumer(bus, "c1")
    append(bus, 2)
    handler = Recorder()
    assert stream.step(handler) and handler.seen == ["0", "1"]
    bus.flushall()  # Redis restarted without persistence: stream and group are gone
    append(bus, 2, first=10)  # a producer appends again (the stream, without the group)
    assert stream.step(handler)  # NOGROUP: the group is created from the stream's start
    assert stream.step(handler)
    assert handler.seen == ["0", "1", "10", "11"] and pending(bus) == 0
    groups: Any = bus.xinfo_groups(STREAM)
    assert [group["name"] for group in groups] == [GROUP]


def test_raw_reads_send_the_acks_and_extra_commands_with_the_next_read(bus: redis_lib.Redis) -> None:
    bus.set("checkpoint:test-state", "v1")
    raw = raw_client(bus)
    stream: StreamConsumer[RawMessage] = StreamConsumer(
        bus, STREAM, GROUP, "raw", raw=raw, block_ms=10, handler_acks=True, defer_acks=True,
        pipeline_extras=lambda pipe: pipe.get("checkpoint:test-state"))
    stream.start()
    append(bus, 2)
    first = stream.read()
    assert [fields[b"n"] for _msg_id, fields in first.messages] == [b"0", b"1"] and first.extras == [b"v1"]
    stream.done([msg_id for msg_id, _ in first.messages])  # kept for the next read
    assert pending(bus) == 2
    assert stream.read().messages == [] and pending(bus) == 0
    raw.close()


def test_a_stale_consumer_is_removed_and_a_busy_one_kept(bus: redis_lib.Redis) -> None:
    consumer(bus, "gone")
    append(bus, 2)
    bus.xreadgroup(GROUP, "gone", {STREAM: ">"}, count=1)
    oldest: Any = bus.xrange(STREAM, count=1)
    bus.xack(STREAM, GROUP, oldest[0][0])
    bus.xreadgroup(GROUP, "busy", {STREAM: ">"}, count=1)  # holds an unacked entry
    assert remove_stale_consumers(bus, STREAM, stale_ms=0) == [f"{GROUP}/gone"]
    owners: Any = bus.xinfo_consumers(STREAM, GROUP)
    assert [row["name"] for row in owners] == ["busy"]


def test_the_trim_keeps_what_any_group_has_not_acknowledged(bus: redis_lib.Redis) -> None:
    ids = append(bus, 6)
    bus.xgroup_create(STREAM, "fast", id="0")
    bus.xgroup_create(STREAM, "slow", id="0")
    bus.xreadgroup("fast", "f", {STREAM: ">"})
    bus.xack(STREAM, "fast", *ids)
    bus.xreadgroup("slow", "s", {STREAM: ">"}, count=4)
    bus.xack(STREAM, "slow", ids[0], ids[2])  # ids[1] still pending with the slow group
    assert trim_stream(bus, STREAM, ["fast", "slow"], approximate=False) == 1
    assert [msg_id for msg_id, _ in bus.xrange(STREAM)] == ids[1:]  # type: ignore[union-attr]
    bus.xack(STREAM, "slow", ids[1], ids[3])
    assert trim_stream(bus, STREAM, ["fast", "slow"], approximate=False) == 3  # up to the slow group's last read
    assert [msg_id for msg_id, _ in bus.xrange(STREAM)] == ids[4:]  # type: ignore[union-attr]
    assert trim_stream(bus, STREAM, ["fast", "slow", "never-ran"], approximate=False) == 0  # declared, created


def test_declared_groups_are_the_workers_groups() -> None:
    from checkpoint.capture import feed_history, snapshot_worker
    from checkpoint.capture.snapshots import SNAPSHOTS_STREAM
    from checkpoint.core.bus import PASSES_STREAM, READS_STREAM
    from checkpoint.coverage import worker as coverage_worker
    from checkpoint.passes import writer
    from checkpoint.sites.feed_keys import FEED_EVENTS_STREAM
    from checkpoint.watchlist import worker as matcher

    assert STREAM_GROUPS == {READS_STREAM: (writer.GROUP,), PASSES_STREAM: (matcher.GROUP, coverage_worker.GROUP),
                             SNAPSHOTS_STREAM: (snapshot_worker.GROUP,), FEED_EVENTS_STREAM: (feed_history.GROUP,)}


def test_declared_groups_exist_before_their_consumers_run(bus: redis_lib.Redis) -> None:
    ensure_declared_groups(bus)
    for stream, groups in STREAM_GROUPS.items():
        info: Any = bus.xinfo_groups(stream)
        assert sorted(group["name"] for group in info) == sorted(groups)


def test_a_group_stopped_for_good_holds_entries_only_up_to_the_ceiling(bus: redis_lib.Redis) -> None:
    old = [str(bus.xadd(STREAM, {"n": str(n)}, id=f"{1_000 + n}-0")) for n in range(3)]  # from 1970: "a day ago"
    fresh = append(bus, 2)
    bus.xgroup_create(STREAM, "stopped", id="0")
    assert trim_stream(bus, STREAM, ["stopped"], approximate=False, max_keep_s=3600) == 3  # logged as an error
    assert [msg_id for msg_id, _ in bus.xrange(STREAM)] == fresh and len(old) == 3  # type: ignore[union-attr]
