"""Input that is not a usable image gives a clear ImageError or no plate, never a crash."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from checkpoint.lpr.cli import app
from checkpoint.lpr.engines import PlateEngine
from checkpoint.lpr.errors import ImageError
from checkpoint.lpr.images import decode_image, load_image


def test_bytes_that_are_not_an_image() -> None:
    with pytest.raises(ImageError, match="not a readable image"):
        decode_image(b"this is not a picture at all", name="note.jpg")


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(empty)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot read"):
        load_image(tmp_path / "absent.jpg")


def test_huge_image_is_refused_before_decoding() -> None:
    ok, encoded = cv2.imencode(".png", np.zeros((10_000, 10_000), dtype=np.uint8))
    assert ok
    with pytest.raises(ImageError, match="10000x10000"):
        decode_image(encoded.tobytes())


def test_huge_array_is_refused_by_the_engine(engine: PlateEngine) -> None:
    with pytest.raises(ImageError, match="larger than"):
        engine.read(np.zeros((10_000, 10_000, 3), dtype=np.uint8))


def test_grayscale_and_alpha_are_read_without_plates(engine: PlateEngine) -> None:
    gray = np.full((240, 320), 128, dtype=np.uint8)
    assert engine.read(gray) == []
    ok, png = cv2.imencode(
        ".png", np.dstack([np.full((240, 320, 3), 200, np.uint8), np.full((240, 320), 100, np.uint8)])
    )
    assert ok
    rgba = decode_image(png.tobytes())
    assert rgba.shape == (240, 320, 3)
    assert engine.read(rgba) == []


def test_tiny_image_and_empty_roi(engine: PlateEngine) -> None:
    with pytest.raises(ImageError, match="too small"):
        engine.read(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(ImageError, match="region of interest"):
        engine.read(np.zeros((100, 100, 3), dtype=np.uint8), roi=(200, 200, 300, 300))


def test_cli_names_the_bad_file_and_exits_nonzero(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.jpg"
    bogus.write_bytes(b"\x00\x01garbage")
    result = CliRunner().invoke(app, ["read", str(bogus)])
    assert result.exit_code == 1
    assert "bogus.jpg" in result.output and "not a readable image" in result.output
    assert "Traceback" not in result.output


def test_cli_eval_without_labels(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(tmp_path)])
    assert result.exit_code == 2
    assert "labels.csv not found" in result.output
