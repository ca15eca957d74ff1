"""A decoded frame that turns into BGR only when someone needs the colour picture.

Converting a 1080p YUV 4:2:0 picture to BGR costs about as much as decoding it, and most live
frames only go through the motion gate, which needs the luma (Y) plane alone. A frame decoded
by PyAV keeps its planes and converts once, on the first `image` access (LPR, the scene JPEG).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
YuvPlanes = tuple[Image, Image, Image]  # Y (h x w), U and V (h/2 x w/2): views on the decoder's buffers


def plane_view(plane: Any, width: int, height: int) -> Image:
    """A zero-copy view of one PyAV plane without its line padding (keeps the frame's buffer alive)."""
    raw = np.frombuffer(plane, np.uint8)
    return raw.reshape(-1, plane.line_size)[:height, :width]


def yuv420_planes(video_frame: Any) -> YuvPlanes:
    """The Y, U, V planes of a PyAV frame in yuv420p/yuvj420p; other formats are converted first."""
    if video_frame.format.name not in ("yuv420p", "yuvj420p") or video_frame.width % 2 or video_frame.height % 2:
        video_frame = video_frame.reformat(width=video_frame.width // 2 * 2, height=video_frame.height // 2 * 2,
                                           format="yuv420p")
    width, height = video_frame.width, video_frame.height
    y, u, v = video_frame.planes[:3]
    return plane_view(y, width, height), plane_view(u, width // 2, height // 2), plane_view(v, width // 2, height // 2)


def i420_to_bgr(planes: YuvPlanes) -> Image:
    """BGR from I420 planes with OpenCV's SIMD converter (cheaper than sws_scale here)."""
    y, u, v = planes
    height, width = y.shape
    packed = np.empty((height * 3 // 2, width), np.uint8)
    packed[:height] = y
    packed[height:].reshape(-1)[: u.size] = u.reshape(-1)
    packed[height:].reshape(-1)[u.size:] = v.reshape(-1)
    return cv2.cvtColor(packed, cv2.COLOR_YUV2BGR_I420).astype(np.uint8, copy=False)


class Frame:
    """One decoded frame; `at` is when it was decoded (UTC), or its file time in replay.

    Built either from a BGR `image` (OpenCV, generated scenes) or from `yuv` planes (PyAV), in
    which case `image` is converted on first use and kept. Frames are never written to.
    """

    __slots__ = ("index", "at", "decoded_monotonic", "_image", "yuv")

    def __init__(self, index: int, at: datetime, decoded_monotonic: float, image: Image | None = None, *,
                 yuv: YuvPlanes | None = None) -> None:
        if image is None and yuv is None:
            raise ValueError("a frame needs a BGR image or YUV planes")
        self.index = index
        self.at = at
        self.decoded_monotonic = decoded_monotonic
        self._image = image
        self.yuv = yuv

    @property
    def image(self) -> Image:
        """The BGR picture (converted from the planes the first time it is asked for)."""
        if self._image is None:
            assert self.yuv is not None  # the constructor refuses a frame with neither
            self._image = i420_to_bgr(self.yuv)
        return self._image

    @property
    def converted(self) -> bool:
        """Whether a BGR picture exists (was given, or has been converted)."""
        return self._image is not None

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width, without converting anything."""
        source = self.yuv[0] if self.yuv is not None else self._image
        assert source is not None
        return int(source.shape[0]), int(source.shape[1])

    @property
    def luma(self) -> Image | None:
        """The Y plane when the frame came from a YUV decoder, else None (use `image`)."""
        return self.yuv[0] if self.yuv is not None else None

    def __repr__(self) -> str:
        return f"Frame(index={self.index}, at={self.at.isoformat()}, yuv={self.yuv is not None})"
