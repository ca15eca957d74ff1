"""Perspective rectification of a plate from its four corners, and double-row splitting."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from checkpoint.lpr.models import Corners

Image = npt.NDArray[np.uint8]

DOUBLE_ROW_MAX_ASPECT = 2.3  # single-row plates are 440x140 (3.1) or 480x140; double-row 440x220 (2.0)
SINGLE_ROW_MIN_ASPECT = 2.6  # a single-row plate seen at an angle looks as narrow as 1.9: between, try both
DOUBLE_ROW_SURE_ASPECT = 1.6
TOP_ROW_SPAN = (0.0, 0.40)  # GA 36 double-row: the small top row holds province and letter
BOTTOM_ROW_SPAN = (0.32, 1.0)
TOP_ROW_COLUMNS = (0.18, 0.82)


def expand_corners(corners: Corners, margin_x: float, margin_y: float) -> npt.NDArray[np.float32]:
    """Grow the quadrilateral by a fraction of its width and height, along its own axes."""
    quad = np.array(corners, dtype=np.float32)
    top_left, top_right, bottom_right, bottom_left = quad
    along = ((top_right - top_left) + (bottom_right - bottom_left)) / 2
    down = ((bottom_left - top_left) + (bottom_right - top_right)) / 2
    shift_x, shift_y = along * margin_x, down * margin_y
    return np.array(
        [
            top_left - shift_x - shift_y,
            top_right + shift_x - shift_y,
            bottom_right + shift_x + shift_y,
            bottom_left - shift_x + shift_y,
        ],
        dtype=np.float32,
    )


def warp_plate(
    image_bgr: Image, corners: Corners, size: tuple[int, int], margin: tuple[float, float] = (0.0, 0.0)
) -> Image:
    """The plate seen face-on, stretched to `size` (width, height), with a margin around the corners."""
    width, height = size
    source = expand_corners(corners, *margin)
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    return cv2.warpPerspective(
        image_bgr, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )  # type: ignore[return-value]


def plate_aspect(corners: Corners) -> float:
    """Width over height of the plate quadrilateral."""
    quad = np.array(corners, dtype=np.float32)
    width = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    height = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    return float(width) / max(float(height), 1e-3)


def plate_width_px(corners: Corners) -> float:
    """Mean length of the top and bottom edges, in image pixels."""
    quad = np.array(corners, dtype=np.float32)
    return float((np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2)


def is_double_row(corners: Corners) -> bool:
    """Whether the plate's shape is that of a two-row plate."""
    return plate_aspect(corners) < DOUBLE_ROW_MAX_ASPECT


def row_layouts(corners: Corners) -> tuple[bool, ...]:
    """Which layouts to read the plate as (True: double-row), likeliest first, from its shape.

    A single-row plate turned away from the camera has the aspect of a double-row one, so in
    between both are read and the more confident text wins.
    """
    aspect = plate_aspect(corners)
    if aspect >= SINGLE_ROW_MIN_ASPECT:
        return (False,)
    if aspect < DOUBLE_ROW_SURE_ASPECT:
        return (True,)
    return (True, False) if aspect < DOUBLE_ROW_MAX_ASPECT else (False, True)


def split_rows(plate: Image) -> tuple[Image, Image]:
    """Top and bottom rows of a rectified double-row plate (the top row trimmed to its characters)."""
    height, width = plate.shape[:2]
    top = plate[
        int(TOP_ROW_SPAN[0] * height) : int(TOP_ROW_SPAN[1] * height),
        int(TOP_ROW_COLUMNS[0] * width) : int(TOP_ROW_COLUMNS[1] * width),
    ]
    bottom = plate[int(BOTTOM_ROW_SPAN[0] * height) : int(BOTTOM_ROW_SPAN[1] * height)]
    return np.ascontiguousarray(top), np.ascontiguousarray(bottom)
