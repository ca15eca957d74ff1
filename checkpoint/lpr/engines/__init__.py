"""Plate engines by name: `make_plate_engine(settings)` builds the one `settings.engine` names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from checkpoint.core.settings_groups import LprSettings
from checkpoint.lpr.engines.onnx import OnnxPlateEngine
from checkpoint.lpr.models import Corners, Detection, PlateRead

Roi = tuple[int, int, int, int]


class PlateEngine(Protocol):
    """Reads the plates in a BGR frame, optionally only inside a region of interest (x1, y1, x2, y2)."""

    def read(self, image_bgr: npt.NDArray[np.uint8], roi: Roi | None = None) -> list[PlateRead]: ...

    def read_plate_image(self, plate_bgr: npt.NDArray[np.uint8]) -> PlateRead | None: ...

    def detect(self, image_bgr: npt.NDArray[np.uint8], roi: Roi | None = None) -> list[Detection]: ...

    def read_corners(
        self, frame: npt.NDArray[np.uint8], corners: Corners, detection_score: float
    ) -> PlateRead | None: ...


ENGINES: dict[str, Callable[[LprSettings], PlateEngine]] = {"onnx": OnnxPlateEngine}


def make_plate_engine(settings: LprSettings | None = None) -> PlateEngine:
    """The engine the settings name; build one per process and reuse it (sessions are costly)."""
    chosen = settings or LprSettings()
    return ENGINES[chosen.engine](chosen)
