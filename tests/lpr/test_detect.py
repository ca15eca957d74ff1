"""Coarse-to-fine detection and the single/double-row decision."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from checkpoint.lpr import LprSettings, make_plate_engine
from checkpoint.lpr.detect import merge_regions, region_around
from checkpoint.lpr.evaluate import iou, load_labels
from checkpoint.lpr.images import load_image
from checkpoint.lpr.models import Corners
from checkpoint.lpr.rectify import row_layouts


def rectangle(width: float, height: float) -> Corners:
    return ((0.0, 0.0), (width, 0.0), (width, height), (0.0, height))


def test_region_around_grows_the_box_inside_the_image() -> None:
    x1, y1, x2, y2 = region_around((100.0, 100.0, 200.0, 130.0), 1920, 1080)
    assert x1 < 100 - 90 and x2 > 200 + 90 and y1 < 100 - 40 and y2 > 130 + 40
    assert region_around((0.0, 0.0, 50.0, 20.0), 60, 30) == (0, 0, 60, 30)


def test_overlapping_regions_merge_and_separate_ones_stay() -> None:
    merged = merge_regions([(0, 0, 10, 10), (100, 100, 110, 110), (5, 5, 20, 20), (15, 15, 105, 105)])
    assert merged == [(0, 0, 110, 110)]
    assert sorted(merge_regions([(0, 0, 10, 10), (20, 0, 30, 10)])) == [(0, 0, 10, 10), (20, 0, 30, 10)]


def test_row_layouts_follow_the_plate_shape() -> None:
    assert row_layouts(rectangle(440, 140)) == (False,)  # single-row plate, face on
    assert set(row_layouts(rectangle(300, 140))) == {False, True}  # single-row turned away: 2.1 looks double
    assert row_layouts(rectangle(440, 220))[0] is True  # double-row, 2:1
    assert row_layouts(rectangle(200, 140)) == (True,)


def test_coarse_to_fine_finds_a_small_plate_in_a_1080p_frame(plates_dev: Path) -> None:
    """A scene shrunk so its plate is 70 px wide: too small for the shrunk pass alone."""
    folder = plates_dev / "ccpd_scenes"
    row = load_labels(folder)[3]
    assert row.box is not None
    scene = load_image(folder / row.file)
    shrink = 70 / (row.box[2] - row.box[0])
    small = cv2.resize(scene, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    frame = np.full((1080, 1920, 3), 110, dtype=np.uint8)
    frame[300 : 300 + small.shape[0], 900 : 900 + small.shape[1]] = small
    box = (900 + row.box[0] * shrink, 300 + row.box[1] * shrink, 900 + row.box[2] * shrink, 300 + row.box[3] * shrink)
    cascade = make_plate_engine(LprSettings(coarse_scale=0.5, use_paddle=False))
    shrunk_only = make_plate_engine(LprSettings(detect_scale=0.5, use_paddle=False))
    found = cascade.detect(frame)
    assert any(iou(detection.box, box) >= 0.5 for detection in found)
    assert all(detection.score > 0.5 for detection in found)  # candidates kept only if confirmed at full size
    assert not any(iou(detection.box, box) >= 0.5 for detection in shrunk_only.detect(frame))
