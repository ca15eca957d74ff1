"""Turning files, bytes and arrays into the 8-bit BGR frames the models expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from checkpoint.lpr.errors import ImageError

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_PIXELS = 60_000_000  # a 10000x10000 picture is not a camera frame

Image = npt.NDArray[np.uint8]


def decode_image(data: bytes, *, name: str = "image", max_pixels: int = MAX_PIXELS) -> Image:
    """Decode encoded image bytes (JPEG, PNG, ...) to BGR, refusing what is not a usable picture."""
    if not data:
        raise ImageError(f"{name}: empty file")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{name}: file of {len(data)} bytes is too large")
    size = image_size(data)
    if size is None and data[:2] in (b"\xff\xd8", b"\x89P"):
        raise ImageError(f"{name}: a JPEG or PNG whose size cannot be read from its header")
    width, height = size or (0, 0)
    if width * height > max_pixels:  # refused from its header, before any decoding (issue 20)
        raise ImageError(f"{name}: {width}x{height} image is larger than {max_pixels} pixels")
    # within the limit but large (a 12 MP photo): a JPEG is decoded at 1/2..1/8 size (issue 18)
    reduction = jpeg_reduction(width, height, max_pixels) if size and data[:2] == b"\xff\xd8" else 1
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), REDUCED_FLAGS[reduction])
    if decoded is None:
        raise ImageError(f"{name}: not a readable image")
    return to_bgr(decoded, name=name, max_pixels=max_pixels)


DECODE_MAX_SIDE = 4096  # JPEGs larger than this are decoded at 1/2, 1/4 or 1/8 size (memory stays bounded)
REDUCED_FLAGS = {1: cv2.IMREAD_UNCHANGED, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                 8: cv2.IMREAD_REDUCED_COLOR_8}


def jpeg_reduction(width: int, height: int, max_pixels: int = MAX_PIXELS) -> int:
    """The smallest JPEG decode reduction (1, 2, 4, 8) that brings the picture within DECODE_MAX_SIDE.

    The JPEG decoder skips the fine frequencies at 1/2..1/8 size, so a 12000x12000 photo never
    exists in memory at full size (432 MB); detection shrinks a frame to max_side_px anyway.
    """
    for factor in (1, 2, 4, 8):
        if max(width, height) <= DECODE_MAX_SIDE * factor and width * height <= max_pixels * factor**2:
            return factor
    return 8


def load_image(path: Path | str, *, max_pixels: int = MAX_PIXELS) -> Image:
    """Read an image file to BGR; a missing or unreadable file is an ImageError."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ImageError(f"{file}: cannot read ({exc.strerror})") from exc
    return decode_image(data, name=str(file), max_pixels=max_pixels)


def to_bgr(array: npt.NDArray[Any], *, name: str = "image", max_pixels: int = MAX_PIXELS) -> Image:
    """Bring grayscale, BGRA and 16-bit arrays to 3-channel 8-bit BGR."""
    if not isinstance(array, np.ndarray) or array.ndim not in (2, 3) or array.size == 0:
        raise ImageError(f"{name}: expected an HxW or HxWxC image array")
    height, width = array.shape[:2]
    if height < 8 or width < 8:
        raise ImageError(f"{name}: {width}x{height} image is too small")
    if height * width > max_pixels:
        raise ImageError(f"{name}: {width}x{height} image is larger than {max_pixels} pixels")
    if array.dtype == np.uint16:
        image: Image = (array >> 8).astype(np.uint8)
    elif array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.number):
            raise ImageError(f"{name}: unsupported pixel type {array.dtype}")
        image = np.clip(array, 0, 255).astype(np.uint8)
    else:
        image = array
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)  # type: ignore[return-value]
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)  # type: ignore[return-value]
    if channels == 3:
        return np.ascontiguousarray(image)
    if channels == 4:
        return _flatten_alpha(image)
    raise ImageError(f"{name}: {channels}-channel images are not supported")


def _flatten_alpha(image: Image) -> Image:
    """Composite a BGRA picture on white, as a viewer would show it."""
    alpha = image[:, :, 3:4].astype(np.float32) / 255.0
    colour = image[:, :, :3].astype(np.float32)
    flattened: Image = (colour * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return flattened


SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, read without decoding; None when none is found.

    A 2 MB JPEG can declare 12000x12000 pixels (430 MB once decoded): callers refuse by this size
    first. A JPEG's segments are skipped by their lengths up to its frame header, however long the
    EXIF before it.
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    offset = 2
    while offset + 9 < len(data):
        if data[offset] != 0xFF:
            return None  # not at a marker: a corrupt header
        marker = data[offset + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # fill byte, or a marker with no length
            offset += 1 if marker == 0xFF else 2
            continue
        if marker in SOF_MARKERS:
            height = int.from_bytes(data[offset + 5 : offset + 7], "big")
            width = int.from_bytes(data[offset + 7 : offset + 9], "big")
            return width, height
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        offset += 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")
    return None
