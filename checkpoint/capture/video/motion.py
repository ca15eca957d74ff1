"""Motion gating: plate detection costs ~100 ms a frame, so it runs only while something moves in the lane.

A frame from the PyAV decoder is gated on its luma (Y) plane, so a frame nobody reads is never
converted to colour; a BGR frame (OpenCV, generated scenes) is gated as before, on its grey image.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from checkpoint.capture.video.config import Roi
from checkpoint.capture.video.frames import Frame

Image = npt.NDArray[np.uint8]

GATE_WIDTH_PX = 160  # the lane region is compared at this width: cheap, and blind to sensor noise


class MotionGate:
    """Says whether the lane region changed since the last frame, and keeps saying so for `hold_s`."""

    def __init__(self, *, pixel_threshold: int = 20, changed_share: float = 0.004, hold_s: float = 1.0) -> None:
        self.pixel_threshold = pixel_threshold
        self.changed_share = changed_share
        self.hold_s = hold_s
        self._previous: Image | None = None
        self._moving_until = -1.0
        self.gated = 0  # frames with motion
        self.skipped = 0  # frames without

    def moving(self, image: Image, roi: Roi, t_s: float) -> bool:
        """Gate a BGR image."""
        x1, y1, x2, y2 = roi
        region = image[y1:y2, x1:x2]
        scale = GATE_WIDTH_PX / max(1, region.shape[1])
        small = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return self._compare(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.uint8, copy=False), t_s)

    def moving_luma(self, luma: Image, roi: Roi, t_s: float) -> bool:
        """Gate a luma plane (no colour conversion at all)."""
        x1, y1, x2, y2 = roi
        region = luma[y1:y2, x1:x2]
        scale = GATE_WIDTH_PX / max(1, region.shape[1])
        small = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return self._compare(small.astype(np.uint8, copy=False), t_s)

    def moving_frame(self, frame: Frame, roi: Roi, t_s: float) -> bool:
        """Gate a frame on its luma when it has one, else on its BGR image."""
        luma = frame.luma
        return self.moving_luma(luma, roi, t_s) if luma is not None else self.moving(frame.image, roi, t_s)

    def _compare(self, small_grey: Image, t_s: float) -> bool:
        grey = cv2.GaussianBlur(small_grey, (5, 5), 0).astype(np.uint8)
        previous, self._previous = self._previous, grey
        if previous is not None and previous.shape == grey.shape:
            changed = np.count_nonzero(cv2.absdiff(grey, previous) > self.pixel_threshold)
            if changed >= self.changed_share * grey.size:
                self._moving_until = t_s + self.hold_s
        if t_s <= self._moving_until:
            self.gated += 1
            return True
        self.skipped += 1
        return False
