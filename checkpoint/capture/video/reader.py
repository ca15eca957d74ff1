"""A decoder thread per feed that hands frames on through a small queue, dropping the oldest when full.

A slow detector must never stall the camera connection: frames it cannot take are counted in
`dropped` and lost. In replay mode (a file read for a test or a benchmark) the queue blocks
instead, so every frame is seen and results do not depend on machine load.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

CAPTURE_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"  # OpenCV reads FFmpeg options from here at open
_OPEN_LOCK = threading.Lock()
OPEN_TIMEOUT_MS = 3000
READ_TIMEOUT_MS = 3000
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Frame:
    """One decoded frame; `at` is when it was decoded (UTC), or its file time in replay."""

    index: int
    at: datetime
    decoded_monotonic: float
    image: Image


class FrameReader:
    """Opens the source and decodes in a thread until the source ends, fails or `close()` is called."""

    def __init__(self, source: str, *, queue_size: int = 3, replay: bool = False, loop: bool = False,
                 rtsp_transport: str = "tcp") -> None:
        self.source = source
        self.rtsp_transport = rtsp_transport
        self.replay = replay
        self.loop = loop
        self.frames: queue.Queue[Frame] = queue.Queue(maxsize=queue_size)
        self.dropped = 0
        self.decoded = 0
        self.error: str | None = None
        self.ended = threading.Event()
        self.last_frame_monotonic = time.monotonic()
        self.fps = 0.0
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"reader:{source[-40:]}", daemon=True)

    def start(self) -> FrameReader:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=OPEN_TIMEOUT_MS / 1000 + READ_TIMEOUT_MS / 1000 + 1)

    def get(self, timeout_s: float) -> Frame | None:
        try:
            return self.frames.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def _open(self) -> cv2.VideoCapture:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        with _OPEN_LOCK:  # the options are process-wide: set them and open under one lock
            os.environ[CAPTURE_OPTIONS_ENV] = f"rtsp_transport;{self.rtsp_transport}"
            capture = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            raise ConnectionError(f"cannot open {self.source}")
        return capture

    def _run(self) -> None:
        try:
            capture = self._open()
        except ConnectionError as exc:
            self.error = str(exc)
            self.ended.set()
            return
        started = time.monotonic()
        start_at = datetime.now(UTC)
        file_fps = float(capture.get(cv2.CAP_PROP_FPS) or 25.0)
        window_start, window_frames = started, 0
        paced = not self.replay and "://" not in self.source
        try:
            while not self._closing.is_set():
                if paced:  # a file read live plays at its own frame rate, as a camera would send it
                    ahead_s = started + self.decoded / file_fps - time.monotonic()
                    if ahead_s > 0 and self._closing.wait(ahead_s):
                        break
                ok, image = capture.read()
                if not ok:
                    if self.loop and self.decoded:
                        capture.release()
                        capture = self._open()
                        continue
                    if not self.replay or not self.decoded:
                        self.error = "stream ended or read timed out"
                    break
                now = time.monotonic()
                self.last_frame_monotonic = now
                window_frames += 1
                if now - window_start >= 2.0:
                    self.fps, window_start, window_frames = window_frames / (now - window_start), now, 0
                at = (start_at + (now - started) * _SECOND) if not self.replay else (
                    start_at + (self.decoded / file_fps) * _SECOND)
                self._hand_on(Frame(self.decoded, at, now, image.astype(np.uint8, copy=False)))
                self.decoded += 1
        finally:
            capture.release()
            self.ended.set()

    def _hand_on(self, frame: Frame) -> None:
        if self.replay:
            while not self._closing.is_set():
                try:
                    self.frames.put(frame, timeout=0.2)
                    return
                except queue.Full:
                    continue
            return
        try:
            self.frames.put_nowait(frame)
        except queue.Full:
            try:  # drop the oldest: the newest frame is the one worth reading
                self.frames.get_nowait()
                self.dropped += 1
            except queue.Empty:
                pass
            try:
                self.frames.put_nowait(frame)
            except queue.Full:
                self.dropped += 1

