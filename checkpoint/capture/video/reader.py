"""A decoder thread per feed that hands frames on through a small queue, dropping the oldest when full.

A slow detector must never stall the camera connection: frames it cannot take are counted in
`dropped` and lost. In replay mode (a file read for a test or a benchmark) the queue blocks
instead, so every frame is seen and results do not depend on machine load.

Two decoders: `pyav` (default) hands on YUV frames that become BGR only if something reads
them, and when the machine cannot decode a live source in real time it skips to the next
keyframe (`skipped`, also counted in `dropped`), or past keyframes too while it is far behind
(a long group of pictures on a starved decoder); `opencv` is the former VideoCapture reader,
kept for comparison (`python -m bench.bench_capture realtime --decoder opencv`).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

import cv2
import numpy as np

from checkpoint.capture.video.frames import Frame, Image
from checkpoint.capture.video.pyav_source import PyAvSource

__all__ = ["Decoder", "Frame", "FrameReader", "Image", "LiveClock"]

Decoder = Literal["pyav", "opencv"]
CAPTURE_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"  # OpenCV reads FFmpeg options from here at open
_OPEN_LOCK = threading.Lock()
OPEN_TIMEOUT_MS = 3000
READ_TIMEOUT_MS = 3000
MAX_LAG_S = 0.5  # a live source this far behind real time skips to its next keyframe
MAX_KEYFRAME_LAG_S = 2.0  # this far behind, keyframes are skipped too, until the reader has caught up
FPS_WINDOW_S = 2.0
_SECOND = timedelta(seconds=1)


class LiveClock:
    """When each frame of a live source is due on the monotonic clock, from its timestamps.

    A file read live is paced to it (the reader waits until a frame is due). A network source
    arrives at its own pace, so a frame arriving earlier than its due time moves the clock
    (`follow_arrivals`): lateness then measures the reader's own backlog, not the first
    packets that FFmpeg buffered while probing the stream.
    """

    def __init__(self, frame_s: float, *, follow_arrivals: bool) -> None:
        self.frame_s = frame_s
        self.follow_arrivals = follow_arrivals
        self._origin: tuple[float, float] | None = None  # (monotonic, pts_s) of the segment's first frame
        self._last_due: float | None = None

    def new_segment(self) -> None:
        """The source was reopened (a looped file): its timestamps start again after the last frame."""
        self._origin = None

    def due(self, pts_s: float | None, now: float) -> float:
        follows = (self._last_due + self.frame_s) if self._last_due is not None else now
        if pts_s is None:
            due = follows
        else:
            if self._origin is None:
                self._origin = (follows, pts_s)
            due = self._origin[0] + (pts_s - self._origin[1])
        if self.follow_arrivals and due > now and self._origin is not None:
            self._origin = (self._origin[0] - (due - now), self._origin[1])
            due = now
        self._last_due = due
        return due


class FrameReader:
    """Opens the source and decodes in a thread until the source ends, fails or `close()` is called."""

    def __init__(self, source: str, *, queue_size: int = 3, replay: bool = False, loop: bool = False,
                 rtsp_transport: str = "tcp", decoder: Decoder = "pyav", decode_threads: int = 1,
                 max_lag_s: float = MAX_LAG_S, max_keyframe_lag_s: float = MAX_KEYFRAME_LAG_S,
                 decoder_nice: int = 0) -> None:
        self.source = source
        self.rtsp_transport = rtsp_transport
        self.replay = replay
        self.loop = loop
        self.decoder = decoder
        self.decode_threads = decode_threads
        self.max_lag_s = max_lag_s
        self.max_keyframe_lag_s = max_keyframe_lag_s
        self.decoder_nice = decoder_nice
        self.frames: queue.Queue[Frame] = queue.Queue(maxsize=queue_size)
        self.dropped = 0  # frames lost: taken out of a full queue, or skipped by the decoder
        self.skipped = 0  # of those, packets not decoded to catch up with a live source
        self.decoded = 0
        self.lag_s = 0.0  # how late the last frame was decoded, against when it was due
        self.error: str | None = None
        self.ended = threading.Event()
        self.last_frame_monotonic = time.monotonic()  # the last frame or packet: the source is alive
        self.fps = 0.0
        self._closing = threading.Event()
        self._started = time.monotonic()
        self._start_at = datetime.now(UTC)
        self._window = (self._started, 0)
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

    @property
    def paced(self) -> bool:
        """A file read live plays at its own frame rate, as a camera would send it."""
        return not self.replay and "://" not in self.source

    def _run(self) -> None:
        if self.decoder_nice:
            try:  # Linux: the nice value of this thread only, so LPR threads get the CPU first
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0)
                               + self.decoder_nice)
            except OSError:
                pass
        try:
            if self.decoder == "opencv":
                self._run_opencv()
            else:
                self._run_pyav()
        except ConnectionError as exc:
            self.error = str(exc)
        finally:
            self.ended.set()

    def _run_pyav(self) -> None:
        source = self._open_pyav()
        clock = LiveClock(1.0 / source.fps, follow_arrivals=not self.paced)
        skipping = False
        try:
            while not self._closing.is_set():
                for packet in source.packets():
                    if self._closing.is_set():
                        return
                    if packet.size == 0:  # the end: the decoder hands out what it still holds
                        self._emit_pyav(source, packet, source.fps, time.monotonic())
                        continue
                    now = time.monotonic()
                    self.last_frame_monotonic = now
                    due = clock.due(source.pts_s(packet), now) if not self.replay else now
                    if self.paced and due > now and self._closing.wait(due - now):
                        return
                    lag_s = time.monotonic() - due
                    if not self.replay and (lag_s > self.max_keyframe_lag_s or (
                            not packet.is_keyframe and (skipping or lag_s > self.max_lag_s))):
                        skipping = True
                        self.skipped += 1
                        self.dropped += 1
                        continue
                    skipping = False
                    self.lag_s = max(0.0, lag_s)
                    self._emit_pyav(source, packet, source.fps, due)
                if self.loop and self.decoded:
                    source.close()
                    source = self._open_pyav()
                    clock.new_segment()
                    continue
                if not self.replay or not self.decoded:
                    self.error = "stream ended or read timed out"
                return
        finally:
            source.close()

    def _open_pyav(self) -> PyAvSource:
        return PyAvSource(self.source, rtsp_transport=self.rtsp_transport, open_timeout_s=OPEN_TIMEOUT_MS / 1000,
                          read_timeout_s=READ_TIMEOUT_MS / 1000, threads=self.decode_threads)

    def _emit_pyav(self, source: PyAvSource, packet: object, fps: float, due: float) -> None:
        for planes in source.decode(packet):
            index = self.decoded + self.skipped
            at = (self._start_at + (index / fps) * _SECOND) if self.replay else (
                self._start_at + (due - self._started) * _SECOND)  # when it was due: a backlog shows
            self._counted(Frame(index, at, time.monotonic(), yuv=planes))

    def _counted(self, frame: Frame) -> None:
        now = time.monotonic()
        self.last_frame_monotonic = now
        window_start, window_frames = self._window
        window_frames += 1
        if now - window_start >= FPS_WINDOW_S:
            self.fps, window_start, window_frames = window_frames / (now - window_start), now, 0
        self._window = (window_start, window_frames)
        self._hand_on(frame)
        self.decoded += 1

    def _open_opencv(self) -> cv2.VideoCapture:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        with _OPEN_LOCK:  # the options are process-wide: set them and open under one lock
            os.environ[CAPTURE_OPTIONS_ENV] = f"rtsp_transport;{self.rtsp_transport}"
            capture = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            raise ConnectionError(f"cannot open {self.source}")
        return capture

    def _run_opencv(self) -> None:
        capture = self._open_opencv()
        file_fps = float(capture.get(cv2.CAP_PROP_FPS) or 25.0)
        try:
            while not self._closing.is_set():
                if self.paced:
                    ahead_s = self._started + self.decoded / file_fps - time.monotonic()
                    if ahead_s > 0 and self._closing.wait(ahead_s):
                        break
                ok, image = capture.read()
                if not ok:
                    if self.loop and self.decoded:
                        capture.release()
                        capture = self._open_opencv()
                        continue
                    if not self.replay or not self.decoded:
                        self.error = "stream ended or read timed out"
                    break
                now = time.monotonic()
                at = (self._start_at + (now - self._started) * _SECOND) if not self.replay else (
                    self._start_at + (self.decoded / file_fps) * _SECOND)
                self._counted(Frame(self.decoded, at, now, self._bgr(image)))
        finally:
            capture.release()

    @staticmethod
    def _bgr(image: object) -> Image:
        assert isinstance(image, np.ndarray)
        return image.astype(np.uint8, copy=False)

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
