"""Result types of the plate reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

Corners = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
"""Plate corners in image pixels: top-left, top-right, bottom-right, bottom-left."""


class PlateColour(StrEnum):
    """Background colour of the plate (GA 36)."""

    BLUE = "blue"
    YELLOW = "yellow"
    GREEN = "green"
    WHITE = "white"
    BLACK = "black"
    UNKNOWN = "unknown"


class PlateType(StrEnum):
    """What kind of plate the text and colour say it is."""

    STANDARD = "standard"  # blue small car, or 7-character plate of unknown colour
    LARGE = "large"  # yellow, lorries and buses
    NEW_ENERGY = "new_energy"  # green, 8 characters
    POLICE = "police"  # white, ends in 警
    EMERGENCY = "emergency"  # white, ends in 应急
    COACH = "coach"  # yellow, ends in 学
    TRAILER = "trailer"  # yellow, ends in 挂
    HONG_KONG = "hong_kong"  # black, 粤Z....港
    MACAU = "macau"  # black, 粤Z....澳
    EMBASSY = "embassy"  # black, 使
    CONSULATE = "consulate"  # black, ends in 领
    MILITARY = "military"  # white, two letters (the first red) and five digits
    ARMED_POLICE = "armed_police"  # white, WJ + province + four digits + a digit or branch letter
    CIVIL_AVIATION = "civil_aviation"  # 民航 + five letters or digits (airside vehicles)
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Detection:
    """One plate found by the detector, before it is read."""

    corners: Corners
    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate read from one image: what capture turns into a pass."""

    text: str
    colour: PlateColour
    plate_type: PlateType
    confidence: float
    char_confidences: tuple[float, ...]
    corners: Corners
    detection_score: float = 1.0
    double_row: bool = False
    crop: npt.NDArray[np.uint8] | None = field(default=None, compare=False, repr=False)
    vehicle_colour: str | None = None  # body colour around the plate (lpr.vehicle_colour), a GA/T 1400 word

    def to_json(self) -> dict[str, object]:
        """The read as plain JSON values (no crop)."""
        return {
            "text": self.text,
            "colour": self.colour.value,
            "type": self.plate_type.value,
            "confidence": round(self.confidence, 4),
            "char_confidences": [round(c, 4) for c in self.char_confidences],
            "corners": [[round(x, 1), round(y, 1)] for x, y in self.corners],
            "detection_score": round(self.detection_score, 4),
            "double_row": self.double_row,
            "vehicle_colour": self.vehicle_colour,
        }
