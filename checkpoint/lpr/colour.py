"""Plate colour from the pixels of the rectified plate."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from checkpoint.lpr.models import PlateColour

Image = npt.NDArray[np.uint8]


def pixel_classes(plate_bgr: Image) -> dict[PlateColour, float]:
    """Share of the plate's inner pixels that look blue, yellow, green, white or black."""
    height, width = plate_bgr.shape[:2]
    inner = plate_bgr[int(height * 0.15) : int(height * 0.85), int(width * 0.08) : int(width * 0.92)]
    if inner.size == 0:
        inner = plate_bgr
    hsv = cv2.cvtColor(inner, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
    hue, saturation, value = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    coloured = (saturation > 70) & (value > 60)
    shares = {
        PlateColour.BLUE: coloured & (hue >= 86) & (hue <= 135),
        PlateColour.YELLOW: coloured & (hue >= 12) & (hue <= 34),
        PlateColour.GREEN: coloured & (hue >= 35) & (hue <= 85),
        PlateColour.WHITE: (saturation <= 60) & (value >= 150),
        PlateColour.BLACK: value < 70,
    }
    total = float(len(hue))
    return {colour: float(mask.sum()) / total for colour, mask in shares.items()}


def plate_colour(plate_bgr: Image) -> PlateColour:
    """Background colour: the commonest plate colour, characters covering well under half the plate.

    Green new-energy plates fade to white at the top, so a fair share of green wins over white.
    """
    shares = pixel_classes(plate_bgr)
    if shares[PlateColour.GREEN] >= 0.25 and shares[PlateColour.GREEN] > shares[PlateColour.BLUE]:
        return PlateColour.GREEN
    colour, share = max(shares.items(), key=lambda item: item[1])
    return colour if share >= 0.2 else PlateColour.UNKNOWN
