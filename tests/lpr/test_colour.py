"""Plate colour from pixels, on synthetic plates drawn in GA 36 colours."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from checkpoint.lpr.colour import plate_colour
from checkpoint.lpr.models import PlateColour


def _plate(background_bgr: tuple[int, int, int], ink_bgr: tuple[int, int, int]) -> np.ndarray:
    plate = np.zeros((50, 160, 3), dtype=np.uint8)
    plate[:] = background_bgr
    cv2.putText(plate, "A12345", (10, 38), cv2.FONT_HERSHEY_SIMPLEX, 1.2, ink_bgr, 3)
    return plate


@pytest.mark.parametrize(
    ("background", "ink", "colour"),
    [
        ((180, 70, 10), (255, 255, 255), PlateColour.BLUE),
        ((20, 200, 240), (0, 0, 0), PlateColour.YELLOW),
        ((235, 235, 235), (0, 0, 0), PlateColour.WHITE),
        ((15, 15, 15), (255, 255, 255), PlateColour.BLACK),
        ((90, 200, 60), (0, 0, 0), PlateColour.GREEN),
    ],
)
def test_background_colour(background: tuple[int, int, int], ink: tuple[int, int, int], colour: PlateColour) -> None:
    assert plate_colour(_plate(background, ink)) is colour


def test_new_energy_gradient_is_green() -> None:
    plate = np.zeros((50, 160, 3), dtype=np.uint8)
    for row in range(50):  # white at the top fading to green, as on new-energy plates
        share = row / 49
        plate[row] = (int(245 - 160 * share), int(245 - 40 * share), int(245 - 185 * share))
    cv2.putText(plate, "D12345", (10, 38), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 3)
    assert plate_colour(plate) is PlateColour.GREEN
