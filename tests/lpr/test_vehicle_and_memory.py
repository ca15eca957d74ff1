"""The vehicle around the plate, and inputs of any size read within a bounded memory."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from checkpoint.lpr import LprSettings, make_plate_engine
from checkpoint.lpr.engines import PlateEngine
from checkpoint.lpr.images import DECODE_MAX_SIDE, decode_image, jpeg_reduction
from checkpoint.lpr.models import Corners
from checkpoint.lpr.plate_render import KIND_BY_NAME, fonts_available, render_plate
from checkpoint.lpr.vehicle_colour import COLOUR_WORDS, vehicle_colour_near
from checkpoint.passes.vehicle import VEHICLE_COLOURS

BODY_BGR = {"red": (30, 30, 200), "white": (235, 235, 235), "black": (20, 20, 20), "blue": (170, 80, 20),
            "silver": (150, 150, 150), "yellow": (20, 200, 230)}

pytestmark = pytest.mark.skipif(not fonts_available(), reason="no CJK or Latin font (make browser installs them)")


def car_frame(body_bgr: tuple[int, int, int], *, size: tuple[int, int] = (1280, 720)) -> tuple[np.ndarray, Corners]:
    """A grey road with a car-coloured body, a dark grille and a blue plate on the bumper."""
    width, height = size
    frame = np.full((height, width, 3), 95, dtype=np.uint8)
    cx, top, plate_w = width // 2, int(height * 0.6), width // 8
    cv2.rectangle(frame, (cx - 2 * plate_w, top - 2 * plate_w), (cx + 2 * plate_w, top + plate_w // 2), body_bgr, -1)
    cv2.rectangle(frame, (cx - plate_w, top - plate_w // 3), (cx + plate_w, top - 8), (25, 25, 25), -1)  # grille
    plate = cv2.resize(render_plate(KIND_BY_NAME["blue"], "粤B12345"), (plate_w, plate_w * 140 // 440))
    x1 = cx - plate_w // 2
    frame[top : top + plate.shape[0], x1 : x1 + plate_w] = plate
    bottom = top + plate.shape[0]
    corners: Corners = ((x1, top), (x1 + plate_w, top), (x1 + plate_w, bottom), (x1, bottom))
    return frame, corners


def test_colour_words_are_pass_vocabulary() -> None:
    assert set(COLOUR_WORDS) <= set(VEHICLE_COLOURS)


@pytest.mark.parametrize("word", sorted(BODY_BGR))
def test_body_colour_is_read_around_the_plate(word: str) -> None:
    frame, corners = car_frame(BODY_BGR[word])
    found = vehicle_colour_near(frame, corners)
    assert found is not None and found.word == word, found


def test_a_plate_at_the_frame_edge_gives_no_colour_rather_than_a_guess() -> None:
    frame = np.full((100, 400, 3), 95, dtype=np.uint8)
    assert vehicle_colour_near(frame, ((0.0, 0.0), (2.0, 0.0), (2.0, 1.0), (0.0, 1.0))) is None


def test_engine_reads_give_the_vehicle_colour(engine: PlateEngine) -> None:
    frame, _ = car_frame(BODY_BGR["red"], size=(1920, 1080))
    reads = engine.read(frame)
    assert [read.text for read in reads] == ["粤B12345"]
    assert reads[0].vehicle_colour == "red" and reads[0].to_json()["vehicle_colour"] == "red"


def test_big_jpegs_are_decoded_reduced() -> None:
    assert jpeg_reduction(1920, 1080) == 1
    assert jpeg_reduction(4000, 3000) == 1
    assert jpeg_reduction(6000, 4000) == 2
    assert jpeg_reduction(12000, 12000) == 4  # 144 MP: 3000x3000 in memory, not 432 MB
    frame, _ = car_frame(BODY_BGR["white"], size=(DECODE_MAX_SIDE + 800, 2400))
    ok, encoded = cv2.imencode(".jpg", frame)
    assert ok
    decoded = decode_image(encoded.tobytes())
    assert decoded.shape[:2] == (1200, (DECODE_MAX_SIDE + 800) // 2)


def test_frames_larger_than_max_side_are_searched_shrunk_and_read_at_full_size() -> None:
    engine = make_plate_engine(LprSettings(max_side_px=1280))
    frame, corners = car_frame(BODY_BGR["blue"], size=(2560, 1440))
    [read] = engine.read(frame)
    assert read.text == "粤B12345"
    # corners come back in the frame's own pixels, not the shrunk search's
    assert abs(read.corners[0][0] - corners[0][0]) < 12 and abs(read.corners[2][1] - corners[2][1]) < 12


def test_a_plate_tilted_45_degrees_is_read_with_the_tilt_search() -> None:
    frame, _ = car_frame(BODY_BGR["white"], size=(1280, 720))
    matrix = cv2.getRotationMatrix2D((640, 360), 45.0, 1.0)
    tilted = np.asarray(cv2.warpAffine(frame, matrix, (1280, 720), borderMode=cv2.BORDER_REPLICATE), dtype=np.uint8)
    engine = make_plate_engine(LprSettings(tilt_search_deg=45.0))
    assert [read.text for read in engine.read(tilted)] == ["粤B12345"]
