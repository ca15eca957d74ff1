"""GA/T 1400 code tables, as far as a pass needs them: colours, vehicle classes, image types, status codes.

Codes arrive as strings ("5") or numbers (5); both are read. A code outside a table is stored as
"other" (vehicle colour and type) or "unknown" (plate colour), never refused: a field device with a
vendor extension still gets its passes in. The mapping is documented in docs/GAT1400.md.
"""

from __future__ import annotations

from enum import IntEnum

# ColorType (GA/T 1400.3 appendix): the colour codes of PlateColor and VehicleColor.
COLOUR_CODES: dict[str, str] = {
    "1": "black", "2": "white", "3": "grey", "4": "red", "5": "blue", "6": "yellow", "7": "orange",
    "8": "brown", "9": "green", "10": "purple", "11": "other", "12": "pink", "13": "other", "99": "other",
}
PLATE_COLOURS = ("blue", "yellow", "green", "white", "black")  # what a plate can be (schemas.PlateColourName)

# VehicleClass: the vehicle type codes of GA 24.4 (K: passenger, H: goods, Q: tractor, Z: special,
# D: trolley, M: motorcycle, N: three-wheeler, T: tractor (farm), J: machinery, G/B: trailer, X: other).
VEHICLE_CLASS_EXACT: dict[str, str] = {
    "K31": "car", "K32": "suv", "K33": "car", "K34": "van", "K38": "mpv", "K39": "mpv",
    "K41": "van", "K42": "suv", "K43": "car",
    "H37": "pickup",  # 轻型多用途货车 (the pickup)
}
VEHICLE_CLASS_PREFIX: dict[str, str] = {
    "K1": "bus", "K2": "bus", "K3": "car", "K4": "van", "H": "truck", "Q": "truck", "Z": "truck", "D": "bus",
    "M": "motorbike", "N": "truck", "G": "truck", "B": "truck",
}

SCENE_IMAGE_TYPES = ("01", "14", "08", "09")  # 车辆大图, 场景图, 过车合成图, 车辆特写图 (first one wins)
PLATE_IMAGE_TYPES = ("02",)  # 车牌彩色小图


class StatusCode(IntEnum):
    """ResponseStatusObject.StatusCode (GA/T 1400.4)."""

    OK = 0
    OTHER_ERROR = 1
    DEVICE_BUSY = 2
    DEVICE_ERROR = 3
    INVALID_OPERATION = 4
    INVALID_XML_FORMAT = 5
    INVALID_XML_CONTENT = 6
    INVALID_JSON_FORMAT = 7
    INVALID_JSON_CONTENT = 8
    REBOOT = 9


def _code(value: object) -> str:
    text = str(value).strip() if value is not None else ""
    if text.isdigit():
        return text.lstrip("0") or "0"  # "05" and 5 are the same code
    return text.upper()


def plate_colour(value: object) -> str:
    """A PlateColor code as our plate colour word; "unknown" for none or another colour."""
    word = COLOUR_CODES.get(_code(value), "unknown")
    return word if word in PLATE_COLOURS else "unknown"


def vehicle_colour(value: object) -> str | None:
    """A VehicleColor code as a passes/vehicle.py colour word; None when not sent, "other" when unknown."""
    code = _code(value)
    return COLOUR_CODES.get(code, "other") if code else None


def vehicle_type(value: object) -> str | None:
    """A VehicleClass (GA 24.4) code as a passes/vehicle.py type word; None when not sent, "other" when unknown."""
    code = _code(value)
    if not code:
        return None
    if code in VEHICLE_CLASS_EXACT:
        return VEHICLE_CLASS_EXACT[code]
    for prefix in sorted(VEHICLE_CLASS_PREFIX, key=len, reverse=True):
        if code.startswith(prefix):
            return VEHICLE_CLASS_PREFIX[prefix]
    return "other"


def image_type(value: object) -> str:
    """An ImageType code in its two-digit form ("1" and "01" are the same)."""
    text = str(value).strip() if value is not None else ""
    return text.zfill(2) if text.isdigit() and len(text) < 2 else text
