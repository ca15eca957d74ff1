"""What a pass may say about the vehicle itself: colour, type and brand, in one vocabulary.

GA/T 1400 cameras send their own codes (VehicleColor per GA 24.8, VehicleClass per GA 24.4); our
own vehicle model gives words. Both are stored in these words, so 过车查询, watches and 套牌
compare like with like. Chinese labels are what the console shows.
"""

from __future__ import annotations

VEHICLE_COLOURS: dict[str, str] = {
    "white": "白", "grey": "灰", "silver": "银", "black": "黑", "red": "红", "blue": "蓝", "yellow": "黄",
    "green": "绿", "brown": "棕", "pink": "粉", "purple": "紫", "orange": "橙", "other": "其他",
}
VEHICLE_TYPES: dict[str, str] = {
    "car": "轿车", "suv": "SUV", "mpv": "MPV", "van": "面包车", "bus": "客车", "truck": "货车",
    "motorbike": "摩托车", "pickup": "皮卡", "other": "其他",
}
MAX_BRAND_LENGTH = 32


def vehicle_colour(value: str | None) -> str | None:
    """The vocabulary word for a colour, None for nothing; ValueError for a word outside it."""
    if value is None or value == "":
        return None
    word = value.strip().lower()
    if word == "gray":
        word = "grey"
    if word not in VEHICLE_COLOURS:
        raise ValueError(f"unknown vehicle colour {value!r}")
    return word


def vehicle_type(value: str | None) -> str | None:
    """The vocabulary word for a vehicle type, None for nothing; ValueError for a word outside it."""
    if value is None or value == "":
        return None
    word = value.strip().lower()
    if word not in VEHICLE_TYPES:
        raise ValueError(f"unknown vehicle type {value!r}")
    return word


def vehicle_brand(value: str | None) -> str | None:
    """A brand name as sent, trimmed; ValueError past MAX_BRAND_LENGTH characters."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > MAX_BRAND_LENGTH or any(ord(ch) < 32 for ch in text):
        raise ValueError(f"vehicle brand {value!r} is too long or has control characters")
    return text
