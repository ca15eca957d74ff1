"""Plate recognition: a pure library (detection, rectification, OCR, fusion, plate rules)."""

from checkpoint.core.settings_groups import LprSettings
from checkpoint.lpr.engines import PlateEngine, make_plate_engine
from checkpoint.lpr.errors import ImageError, ModelError
from checkpoint.lpr.fusion import fuse_reads
from checkpoint.lpr.models import PlateColour, PlateRead, PlateType
from checkpoint.lpr.normalize import is_valid_plate, normalize_plate, plate_type_of

__all__ = [
    "ImageError",
    "LprSettings",
    "ModelError",
    "PlateColour",
    "PlateEngine",
    "PlateRead",
    "PlateType",
    "fuse_reads",
    "is_valid_plate",
    "make_plate_engine",
    "normalize_plate",
    "plate_type_of",
]
