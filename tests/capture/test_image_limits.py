"""A JPEG that declares more pixels than a camera frame is refused from its header, before decoding."""

from __future__ import annotations

import pytest

from checkpoint.lpr import ImageError
from checkpoint.lpr.images import decode_image, image_size
from checkpoint.passes.images import MAX_IMAGE_PIXELS, NotAJpeg, check_jpeg
from tests.capture.helpers import jpeg, png


def declaring(width: int, height: int, *, exif_bytes: int = 0) -> bytes:
    """A small real JPEG whose frame header is rewritten to declare width x height (and an APP1 before it)."""
    raw = bytearray(jpeg(64, 48))
    sof = next(i for i in range(2, len(raw) - 1) if raw[i] == 0xFF and raw[i + 1] in (0xC0, 0xC2))
    raw[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    raw[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    if exif_bytes:
        app1 = b"\xff\xe1" + (exif_bytes + 2).to_bytes(2, "big") + b"\x00" * exif_bytes
        raw[2:2] = app1
    return bytes(raw)


def test_the_size_is_read_from_the_header_past_a_long_exif() -> None:
    assert image_size(jpeg(320, 180)) == (320, 180)
    assert image_size(declaring(12000, 12000, exif_bytes=65000)) == (12000, 12000)
    assert image_size(png()) == (20, 20)
    assert image_size(b"\xff\xd8\xff\xd9") is None


def test_a_pushed_12000_square_jpeg_is_refused_before_decoding() -> None:
    with pytest.raises(NotAJpeg, match="12000x12000"):
        check_jpeg("the snapshot", declaring(12000, 12000))
    assert 12000 * 12000 > MAX_IMAGE_PIXELS


def test_a_jpeg_without_a_frame_header_is_refused() -> None:
    with pytest.raises(NotAJpeg):
        check_jpeg("the snapshot", b"\xff\xd8\xff\xe0\x00\x04ab\xff\xd9")


def test_the_plate_reader_refuses_a_huge_declared_image_without_decoding_it() -> None:
    with pytest.raises(ImageError, match="larger than"):
        decode_image(declaring(12000, 12000), max_pixels=MAX_IMAGE_PIXELS)
    assert decode_image(jpeg(320, 180)).shape == (180, 320, 3)
