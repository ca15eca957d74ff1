"""One feed's loop: connect, gate on motion, read plates in the lane, track, emit; reconnect on failure.

Runs in a thread of a capture process (the supervisor's), sharing that process's plate engine.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from redis import Redis

from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.emitter import PassEmitter
from checkpoint.capture.video.motion import MotionGate
from checkpoint.capture.video.reader import Frame, FrameReader
from checkpoint.capture.video.status import FeedStatusWriter
from checkpoint.capture.video.tracker import PlateTracker, Track
from checkpoint.core.metrics import LPR_SECONDS
from checkpoint.lpr import ImageError, PlateEngine

log = logging.getLogger(__name__)

STATS_EVERY_S = 10.0


def lpr_interval_s(config: FeedConfig, active: list[Track]) -> float:
    """How often a feed needs LPR now (0: on every gated frame).

    Live only: while every active track is already well read, or while something moves but no
    plate has been found, LPR runs at most every `well_read_every_s` / `search_every_s`; the
    engine is shared by the process's feeds, and the time goes to a feed whose new track needs
    reads. Replay reads every gated frame, as before.
    """
    if config.replay:
        return 0.0
    if not active:
        return config.search_every_s
    if all(len(track.sightings) >= config.well_read_reads for track in active):
        return config.well_read_every_s
    return 0.0


class FeedWorker:
    """Runs one feed until `stop` is set (or, for a replayed file, until it ends)."""

    def __init__(self, config: FeedConfig, engine: PlateEngine, bus: Redis, data_dir: Path,
                 engine_lock: threading.Lock | None = None) -> None:
        self.config = config
        self.engine = engine
        self.engine_lock = engine_lock
        self.status = FeedStatusWriter(bus, config.feed_id)
        self.emitter = PassEmitter(config, bus, data_dir)
        self.gate = MotionGate()
        self.tracker = PlateTracker(lost_s=config.track_lost_s)
        self.heartbeat = time.monotonic()
        self._dropped_before = 0
        self._skipped_before = 0
        self._lpr_t_s = float("-inf")  # frame time of the last frame read by LPR

    def _reader(self) -> FrameReader:
        config = self.config
        return FrameReader(config.source, queue_size=config.queue_size, replay=config.replay, loop=config.loop,
                           rtsp_transport=config.rtsp_transport, decoder=config.decoder,
                           decode_threads=config.decode_threads, max_lag_s=config.max_lag_s,
                           decoder_nice=config.decoder_nice)

    def _count_losses(self, reader: FrameReader) -> None:
        health = self.status.health
        health.dropped = self._dropped_before + reader.dropped
        health.skipped = self._skipped_before + reader.skipped
        health.lag_s = reader.lag_s

    def run(self, stop: threading.Event) -> None:
        backoff_s = 0.25
        while not stop.is_set():
            reader = self._reader().start()
            try:
                got_frames = self._consume(reader, stop)
            finally:
                reader.close()
                self._count_losses(reader)
                self._dropped_before += reader.dropped
                self._skipped_before += reader.skipped
            self._end_tracks(self.tracker.flush())
            if stop.is_set():
                self.status.set_state("stopped")
                return
            if self.config.replay and reader.error is None:
                self.status.set_state("ended")
                return
            self.status.health.reconnects += 1
            self.status.set_state("offline", reader.error or "stalled: no frame")
            log.warning("capture.feed_offline", extra={"feed_id": self.config.feed_id, "error": reader.error})
            backoff_s = 0.25 if got_frames else min(backoff_s * 2, self.config.backoff_max_s)
            stop.wait(backoff_s)

    def _consume(self, reader: FrameReader, stop: threading.Event) -> bool:
        """Process frames until the reader ends or stalls; whether any frame came."""
        got_frames = False
        stats_at = time.monotonic()
        while not stop.is_set():
            self.heartbeat = time.monotonic()
            frame = reader.get(timeout_s=0.2)
            if frame is None:
                if reader.ended.is_set() and reader.frames.empty():
                    return got_frames
                if self.config.is_live and time.monotonic() - reader.last_frame_monotonic > self.config.stall_s:
                    reader.error = reader.error or f"stalled: no frame for {self.config.stall_s:.0f} s"
                    return got_frames
                continue
            if not got_frames:
                got_frames = True
                self.status.set_state("online")
            self._process(frame)
            health = self.status.health
            health.fps, health.last_frame_at = reader.fps, frame.at
            self._count_losses(reader)
            self.status.write()
            if time.monotonic() - stats_at >= STATS_EVERY_S:
                stats_at = time.monotonic()
                log.info("feed.stats", extra={"feed_id": self.config.feed_id, "fps": round(reader.fps, 1),
                                              "dropped": health.dropped, "skipped": health.skipped,
                                              "lag_s": round(health.lag_s, 2), "processed": health.processed,
                                              "passes": health.passes})
        return got_frames

    def _process(self, frame: Frame) -> None:
        if self.config.replay and frame.index % self.config.detect_every:
            return
        height, width = frame.shape
        roi = self.config.roi(width, height)
        t_s = frame.at.timestamp()  # the file's own clock in replay, the time the frame was due live
        if not self.gate.moving_frame(frame, roi, t_s) and not self.tracker.active:
            return
        if self._lpr_can_wait(t_s):
            return
        self._lpr_t_s = t_s
        self.status.health.processed += 1
        image = frame.image  # YUV -> BGR here, outside the lock the process's other feeds wait on
        try:
            with LPR_SECONDS.labels("video").time():
                if self.engine_lock is not None:
                    with self.engine_lock:
                        reads = self.engine.read(image, roi)
                else:
                    reads = self.engine.read(image, roi)
        except ImageError as exc:
            self.status.health.last_error = str(exc)
            return
        self._end_tracks(self.tracker.update(t_s, frame, reads))

    def _lpr_can_wait(self, t_s: float) -> bool:
        """Whether LPR may skip this frame: the feed had its last read more recently than it needs."""
        return t_s - self._lpr_t_s < lpr_interval_s(self.config, self.tracker.active)

    def _end_tracks(self, tracks: list[Track]) -> None:
        for track in tracks:
            captured = self.emitter.emit(track)
            if captured is not None:
                self.status.health.passes += 1
                self.status.health.last_pass_at = captured.captured_at
                self.status.write(force=True)
