"""LPR workers for pushed snapshots: group `capture-lpr` on `checkpoint:snapshots` -> `checkpoint:reads`.

One process per core, each with its own plate engine (an ONNX Runtime session runs one call at
a time, and Python threads would share one core). Per snapshot: load the stored JPEG, read its
plates, keep the most confident valid read, drop it when the same plate passed the same
checkpoint within the repeat window (decided atomically in Redis, so all workers agree), store
the plate crop, then append the CapturedPass and ack the snapshot in one MULTI. A worker killed
at any point leaves the snapshot pending; another claims it back (XAUTOCLAIM, core/streams.py) and,
the pass id being the snapshot id, a pass appended twice is stored once by the passes writer. The
processes are started (lazily) and restarted by the process's one Supervisor (core/supervisor.py).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import socket
import threading
from dataclasses import dataclass
from functools import partial
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from redis import Redis

from checkpoint.capture.snapshots import SNAPSHOTS_STREAM, QueuedSnapshot
from checkpoint.core.bus import READS_STREAM, Fields, Message, redis_client
from checkpoint.core.metrics import LPR_SECONDS, PASSES_IN
from checkpoint.core.settings_groups import CaptureSettings
from checkpoint.core.streams import Batch, StreamConsumer
from checkpoint.core.supervisor import Supervisor
from checkpoint.lpr import (
    ImageError,
    LprSettings,
    PlateEngine,
    PlateRead,
    is_valid_plate,
    make_plate_engine,
    normalize_plate,
)
from checkpoint.lpr.images import decode_image
from checkpoint.passes import images
from checkpoint.passes.images import MAX_IMAGE_PIXELS
from checkpoint.passes.record import CapturedPass

log = logging.getLogger(__name__)

GROUP = "capture-lpr"
REPEAT_WINDOW_S = CaptureSettings().repeat_window_s  # a site's own: CHECKPOINT_CAPTURE__REPEAT_WINDOW_S, passed in
JPEG_QUALITY = 90
LAST_PASS_KEY = "checkpoint:snapshot:last:{checkpoint_id}:{plate}"

# KEYS[1] the (checkpoint, plate) key; ARGV: taken_ms, snapshot id, window_ms, key ttl_ms.
# 1 = a new pass (remembered), 0 = a repeat. The same snapshot asking again (a redelivery) gets 1.
_FIRST_IN_WINDOW = """
local last = redis.call('GET', KEYS[1])
if last then
  local sep = string.find(last, ' ', 1, true)
  local last_ms = tonumber(string.sub(last, 1, sep - 1))
  if string.sub(last, sep + 1) ~= ARGV[2] and math.abs(tonumber(ARGV[1]) - last_ms) < tonumber(ARGV[3]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[4])
return 1
"""


@dataclass
class SnapshotCounts:
    snapshots: int = 0
    passes: int = 0
    no_plate: int = 0
    repeats: int = 0
    missing_image: int = 0  # removed before it was read (a redelivery after the worker dropped it)


class SnapshotReader:
    """One consumer of the group: reads the plates of queued snapshots until stopped."""

    def __init__(self, engine: PlateEngine, bus: Redis, data_dir: Path, consumer: str,
                 repeat_window_s: float = REPEAT_WINDOW_S, batch_size: int = 4, claim_idle_ms: int = 30_000) -> None:
        self.engine = engine
        self.bus = bus
        self.data_dir = data_dir
        self.consumer = consumer
        self.repeat_window_s = repeat_window_s
        self.batch_size = batch_size
        self.claim_idle_ms = claim_idle_ms
        self.counts = SnapshotCounts()
        self._first_in_window_script = bus.register_script(_FIRST_IN_WINDOW)
        # Each snapshot's pass is appended and the snapshot acked in one MULTI (handle): the handler acks.
        self.stream: StreamConsumer[Message] = StreamConsumer(
            bus, SNAPSHOTS_STREAM, GROUP, consumer, count=batch_size, claim_idle_ms=claim_idle_ms, claim_every_s=0.0,
            handler_acks=True)
        self.stream.start()

    def run(self, stop: threading.Event | None = None, stop_flag: Any = None) -> None:
        """Read snapshots until `stop` (a thread's Event) or `stop_flag` (a process's shared bool) is set."""
        stop = stop or threading.Event()

        def see_flag() -> None:
            if stop_flag is not None and stop_flag.value:
                stop.set()

        self.stream.run(stop, self._handle_batch, tick=see_flag)

    def step(self, block_ms: int = 1000) -> int:
        """Read one batch of snapshots; returns how many were read."""
        read: list[int] = []

        def handle(batch: Batch[Message]) -> None:
            read.append(len(batch.messages))
            self._handle_batch(batch)

        self.stream.step(handle, block_ms)
        return max(read, default=0)

    def _handle_batch(self, batch: Batch[Message]) -> None:
        for msg_id, raw in batch.messages:
            self.handle(msg_id, raw)

    def handle(self, msg_id: str, raw: Fields) -> CapturedPass | None:
        """The pass read from one snapshot (appended with the ack), or None (acked without a pass)."""
        self.counts.snapshots += 1
        try:
            snapshot = QueuedSnapshot.from_fields(raw)
        except (KeyError, ValueError) as exc:
            self.stream.dead_letter(msg_id, raw, f"malformed snapshot: {exc!r}")
            return None
        image = self._load(snapshot.image_path)
        if image is None:
            self.counts.missing_image += 1
            self.bus.xack(SNAPSHOTS_STREAM, GROUP, msg_id)
            return None
        best = self._best_read(image)
        if best is None or not self._first_in_window(snapshot, normalize_plate(best.text)):
            images.remove_images(self.data_dir, [snapshot.image_path])
            self.bus.xack(SNAPSHOTS_STREAM, GROUP, msg_id)
            return None
        captured = self._pass_of(snapshot, best)
        pipe = self.bus.pipeline(transaction=True)
        pipe.xadd(READS_STREAM, captured.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
        pipe.xack(SNAPSHOTS_STREAM, GROUP, msg_id)
        pipe.execute()
        PASSES_IN.labels("snapshot").inc()
        self.counts.passes += 1
        return captured

    def _load(self, relpath: str) -> np.ndarray[Any, np.dtype[np.uint8]] | None:
        """The stored JPEG as BGR; its size is checked from the header before decoding (None: gone or refused)."""
        try:
            return decode_image((self.data_dir / relpath).read_bytes(), name=relpath, max_pixels=MAX_IMAGE_PIXELS)
        except (OSError, ImageError) as exc:
            log.warning("snapshot.image_unreadable", extra={"path": relpath, "error": str(exc)})
            return None

    def _best_read(self, image: np.ndarray[Any, np.dtype[np.uint8]]) -> PlateRead | None:
        try:
            with LPR_SECONDS.labels("snapshot").time():
                reads = self.engine.read(image)
        except ImageError:
            reads = []
        valid = [read for read in reads if is_valid_plate(normalize_plate(read.text))]
        if not valid:
            self.counts.no_plate += 1
            return None
        return max(valid, key=lambda read: read.confidence)

    def _first_in_window(self, snapshot: QueuedSnapshot, plate: str) -> bool:
        window_ms = int(self.repeat_window_s * 1000)
        key = LAST_PASS_KEY.format(checkpoint_id=snapshot.checkpoint_id, plate=plate)
        first = int(self._first_in_window_script(keys=[key], args=[int(snapshot.taken_at.timestamp() * 1000),
                                                             str(snapshot.snapshot_id), window_ms,
                                                             max(2 * window_ms, 1)]))
        if not first:
            self.counts.repeats += 1
        return bool(first)

    def _pass_of(self, snapshot: QueuedSnapshot, read: PlateRead) -> CapturedPass:
        plate_path: str | None = None
        if read.crop is not None:
            ok, buffer = cv2.imencode(".jpg", read.crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if ok:
                plate_path = images.image_relpath(snapshot.taken_at, snapshot.checkpoint_code, snapshot.snapshot_id,
                                                  "plate")
                images.write_image(self.data_dir, plate_path, bytes(buffer.tobytes()))
        plate = normalize_plate(read.text)
        return CapturedPass(pass_id=snapshot.snapshot_id, checkpoint_id=snapshot.checkpoint_id, plate=plate,
                            captured_at=snapshot.taken_at, plate_colour=read.colour.value,
                            plate_type=read.plate_type.value, confidence=round(read.confidence, 4),
                            device_id=snapshot.device_id, lane=snapshot.lane, direction=snapshot.direction,
                            image_path=snapshot.image_path, plate_image_path=plate_path, source="snapshot",
                            vehicle_colour=read.vehicle_colour)


def run_snapshot_process(redis_url: str, data_dir: str, lpr_json: str, consumer: str, repeat_window_s: float,
                         stop_flag: Any) -> None:
    """A snapshot LPR process: its own engine and Redis client, until the shared stop flag is set."""
    from checkpoint.core.logging import setup_logging

    setup_logging()
    bus = redis_client(redis_url)
    reader = SnapshotReader(make_plate_engine(LprSettings.model_validate_json(lpr_json)), bus, Path(data_dir),
                            consumer, repeat_window_s=repeat_window_s)
    try:
        reader.run(stop_flag=stop_flag)
    finally:
        bus.close()


class SnapshotPool:
    """Starts `processes` LPR processes under the supervisor once snapshots are queued; it restarts any that dies.

    Started lazily, so a site without snapshot cameras never loads the extra plate engines.
    """

    def __init__(self, redis_url: str, data_dir: Path, processes: int = 0, lpr: LprSettings | None = None,
                 repeat_window_s: float = REPEAT_WINDOW_S, lazy: bool = True,
                 supervisor: Supervisor | None = None) -> None:
        self.redis_url = redis_url
        self.data_dir = data_dir
        self.size = processes or os.cpu_count() or 1
        self.lpr = lpr or LprSettings()
        self.repeat_window_s = repeat_window_s
        self.lazy = lazy
        self._own_supervisor = supervisor is None  # on its own (`checkpoint capture snapshots`, a bench)
        self.supervisor = supervisor or Supervisor().start()
        self.context = mp.get_context("spawn")
        self.stop_flag = self.context.RawValue(ctypes.c_bool, False)
        self.started = False

    @property
    def processes(self) -> list[SpawnProcess]:
        """The LPR processes running now (the supervisor replaces a dead one after its backoff)."""
        running = [self.supervisor.running(self._name(index)) for index in range(self.size)] if self.started else []
        return [process for process in running if isinstance(process, SpawnProcess)]

    def watch(self, bus: Redis) -> None:
        """Start the processes when snapshots wait (or at once when not lazy)."""
        if self.started or (self.lazy and not snapshots_waiting(bus)):
            return
        self.started = True
        for index in range(self.size):
            self.supervisor.add_process(self._name(index), partial(self._spawn, index))
        log.info("capture.snapshot_workers_started", extra={"pids": [p.pid for p in self.processes]})

    @staticmethod
    def _name(index: int) -> str:
        return f"snapshot-lpr-{index}"

    def _spawn(self, index: int) -> SpawnProcess:
        consumer = f"{socket.gethostname()}-{os.getpid()}-snapshot-{index}"
        process = self.context.Process(target=run_snapshot_process, name=self._name(index), daemon=True,
                                       args=(self.redis_url, str(self.data_dir), self.lpr.model_dump_json(),
                                             consumer, self.repeat_window_s, self.stop_flag))
        process.start()
        return process

    def run(self, stop: threading.Event, every_s: float = 1.0) -> None:
        """Watch for queued snapshots until `stop`, then stop the processes (each finishes its snapshot first)."""
        bus = redis_client(self.redis_url)
        try:
            while not stop.is_set() and not self.started:
                try:
                    self.watch(bus)
                except Exception:  # Redis restarting: look again
                    log.exception("capture.snapshot_pool_error")
                stop.wait(every_s)
            stop.wait()
        finally:
            bus.close()
            self.stop()

    def stop(self) -> None:
        """Ask the processes to stop and wait for them (killing one that hangs)."""
        self.stop_flag.value = True
        if self._own_supervisor:
            self.supervisor.stop.set()  # no restarts of processes that stop on purpose
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


def snapshots_waiting(bus: Redis) -> bool:
    """Whether the snapshot stream has entries the LPR group has not finished (or has no group yet)."""
    if not bus.exists(SNAPSHOTS_STREAM):
        return False
    stream: Any = bus.xinfo_stream(SNAPSHOTS_STREAM)
    groups: Any = bus.xinfo_groups(SNAPSHOTS_STREAM)
    mine = [group for group in groups if group["name"] == GROUP]
    if not mine:
        return int(stream["length"]) > 0
    return bool(mine[0]["pending"]) or mine[0]["last-delivered-id"] != stream["last-generated-id"]
