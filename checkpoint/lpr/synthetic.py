"""Synthetic plates for robustness figures, built from real single-row plate crops.

No Chinese font ships on the build machines, so new layouts are composed from real glyphs:
a double-row plate (GA 36 yellow lorry/trailer rear plate, 440x220) takes the province and
letter of a single-row crop as its small top row and the other five characters as its large
bottom row. Every image made here is labelled synthetic wherever its figures are reported.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

SEPARATOR_AT = 0.295  # share of a single-row plate's width left of the dot after the letter


def double_row_from_single(plate_bgr: Image, *, width: int = 330) -> Image:
    """A 2:1 double-row plate with the crop's first two characters on top, the rest below."""
    height = width // 2
    crop_width = plate_bgr.shape[1]
    cut = int(round(crop_width * SEPARATOR_AT))
    first_row, second_row = plate_bgr[:, :cut], plate_bgr[:, cut + max(1, crop_width // 40) :]
    background = np.median(plate_bgr.reshape(-1, 3), axis=0).astype(np.uint8)  # characters cover under half
    plate = np.empty((height, width, 3), dtype=np.uint8)
    plate[:] = background
    top_height, bottom_height = int(height * 0.34), int(height * 0.58)
    top_width = int(width * 0.5)
    top = cv2.resize(first_row, (top_width, top_height), interpolation=cv2.INTER_LINEAR)
    bottom = cv2.resize(second_row, (int(width * 0.94), bottom_height), interpolation=cv2.INTER_LINEAR)
    left = (width - top_width) // 2
    plate[int(height * 0.04) : int(height * 0.04) + top_height, left : left + top_width] = top
    bottom_left = (width - bottom.shape[1]) // 2
    plate[
        height - bottom_height - int(height * 0.04) : height - int(height * 0.04),
        bottom_left : bottom_left + bottom.shape[1],
    ] = bottom
    return plate


def place_in_scene(
    plate_bgr: Image, *, scene_size: tuple[int, int] = (640, 480), at: tuple[int, int] = (200, 200)
) -> Image:
    """The plate pasted on a plain grey scene with some margin, for detection-included reads."""
    width, height = scene_size
    scene = np.full((height, width, 3), 90, dtype=np.uint8)
    x, y = at
    scene[y : y + plate_bgr.shape[0], x : x + plate_bgr.shape[1]] = plate_bgr
    return scene
