"""One pass per vehicle: an ended track becomes one CapturedPass, unless it is noise or a repeat.

The multi-frame vote (lpr's `fuse_reads`) gives the plate; the frame with the most confident
read gives the images. A plate seen again at the same checkpoint within the repeat window
(a track broken by an occlusion, a vehicle stopped in the view) is not a new pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import cv2
from redis import Redis

from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.tracker import Track
from checkpoint.core.bus import READS_STREAM
from checkpoint.core.metrics import PASSES_IN
from checkpoint.lpr import fuse_reads, is_valid_plate, normalize_plate
from checkpoint.passes import images
from checkpoint.passes.record import CapturedPass

JPEG_QUALITY = 85


@dataclass
class EmitterCounts:
    passes: int = 0
    noise_tracks: int = 0  # too few reads to be a vehicle
    repeats: int = 0  # same plate inside the repeat window
    invalid: int = 0  # the vote gave no valid plate
    latencies_s: list[float] = field(default_factory=list)  # best frame decoded -> pass appended


class PassEmitter:
    """Turns ended tracks of one feed into passes on `checkpoint:reads`, with images under data_dir."""

    def __init__(self, config: FeedConfig, bus: Redis, data_dir: Path) -> None:
        self.config = config
        self.bus = bus
        self.data_dir = data_dir
        self.counts = EmitterCounts()
        self._last_pass_at: dict[str, datetime] = {}

    def emit(self, track: Track) -> CapturedPass | None:
        """The pass for this track, appended to the stream; None for noise and repeats."""
        if len(track.sightings) < self.config.min_reads or track.best_frame is None:
            self.counts.noise_tracks += 1
            return None
        fused = fuse_reads(track.reads)
        if fused is None or not is_valid_plate(normalize_plate(fused.text)):
            self.counts.invalid += 1
            return None
        plate = normalize_plate(fused.text)
        at_of = track.best_frame.at
        previous = self._last_pass_at.get(plate)
        if previous is not None and abs((at_of - previous).total_seconds()) < self.config.repeat_window_s:
            self.counts.repeats += 1
            return None
        self._last_pass_at[plate] = at_of
        self._forget_before(at_of - timedelta(seconds=self.config.repeat_window_s))
        captured = CapturedPass(
            checkpoint_id=self.config.checkpoint_id, plate=plate, captured_at=at_of,
            plate_colour=fused.colour.value, plate_type=fused.plate_type.value, confidence=round(fused.confidence, 4),
            feed_id=self.config.feed_id, lane=self.config.lane, direction=self.config.direction, source="camera",
            vehicle_colour=fused.vehicle_colour,
        )
        scene_path = images.image_relpath(at_of, self.config.checkpoint_code, captured.pass_id, "scene")
        plate_path = images.image_relpath(at_of, self.config.checkpoint_code, captured.pass_id, "plate")
        best_read = max(track.reads, key=lambda read: read.confidence)
        written: list[str] = []
        if self._write(scene_path, track.best_frame.image):
            written.append(scene_path)
        if best_read.crop is not None and self._write(plate_path, best_read.crop):
            written.append(plate_path)
        captured = replace(captured, image_path=scene_path if scene_path in written else None,
                           plate_image_path=plate_path if plate_path in written else None)
        self.bus.xadd(READS_STREAM, captured.to_fields())  # type: ignore[arg-type]  # redis stubs want a wider dict
        PASSES_IN.labels("video").inc()
        self.counts.passes += 1
        self.counts.latencies_s.append(time.monotonic() - track.best_frame.decoded_monotonic)
        return captured

    def _write(self, relpath: str, image: object) -> bool:
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])  # type: ignore[call-overload]  # ndarray
        if not ok:
            return False
        images.write_image(self.data_dir, relpath, bytes(buffer.tobytes()))
        return True

    def _forget_before(self, cutoff: datetime) -> None:
        if len(self._last_pass_at) > 1000:
            self._last_pass_at = {plate: at for plate, at in self._last_pass_at.items() if at >= cutoff}
