"""Decoding with PyAV (FFmpeg bundled in the `av` wheel): YUV planes out, and a way to skip ahead.

Two things OpenCV's VideoCapture cannot do, and live capture on few cores needs:

- hand over the decoder's own YUV planes, so a frame that only goes through the motion gate is
  never converted to BGR (docs/BENCHMARKS.md, "Live 1080p feeds": the conversion costs ~25% of
  a frame's decoding);
- let the reader skip the compressed packets up to the next keyframe when it has fallen behind a
  live source, so an overloaded machine loses whole groups of pictures, counted, instead of
  falling further and further behind real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import av

from checkpoint.capture.video.frames import YuvPlanes, yuv420_planes

DEFAULT_FPS = 25.0


class PyAvSource:
    """One opened source: its video packets in order, and their decoding into YUV planes."""

    def __init__(self, source: str, *, rtsp_transport: str = "tcp", open_timeout_s: float = 3.0,
                 read_timeout_s: float = 3.0, threads: int = 1) -> None:
        options = {"rtsp_transport": rtsp_transport} if source.startswith(("rtsp://", "rtsps://")) else {}
        try:
            self.container: Any = av.open(source, options=options, timeout=(open_timeout_s, read_timeout_s))
        except (av.FFmpegError, OSError) as exc:
            raise ConnectionError(f"cannot open {source}: {exc}") from exc
        if not self.container.streams.video:
            self.container.close()
            raise ConnectionError(f"cannot open {source}: no video stream")
        self.stream: Any = self.container.streams.video[0]
        context = self.stream.codec_context
        context.thread_count = threads  # one thread per feed: many feeds on few cores, no frame-thread delay
        context.thread_type = "SLICE" if threads > 1 else "NONE"
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.fps = float(rate) if rate else DEFAULT_FPS
        self.corrupt = 0  # packets the decoder refused (a damaged stream goes on at the next good one)

    def packets(self) -> Iterator[Any]:
        """The video packets as demuxed, the final empty (flush) packet included; raises on a read error."""
        try:
            yield from self.container.demux(self.stream)
        except (av.FFmpegError, OSError) as exc:
            raise ConnectionError(f"read failed: {exc}") from exc

    def decode(self, packet: Any) -> list[YuvPlanes]:
        """The pictures this packet completes (usually one; none for a damaged packet)."""
        try:
            return [yuv420_planes(picture) for picture in packet.decode()]
        except av.InvalidDataError:
            self.corrupt += 1
            return []

    @staticmethod
    def pts_s(packet: Any) -> float | None:
        """The packet's presentation time in seconds, if it has one."""
        if packet.pts is None or packet.time_base is None:
            return None
        return float(packet.pts * packet.time_base)

    def close(self) -> None:
        self.container.close()
