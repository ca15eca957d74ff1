"""The real engine on real photos (skipped without ../shared/data) and on synthetic layouts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from checkpoint.lpr.cli import app
from checkpoint.lpr.engines import PlateEngine
from checkpoint.lpr.evaluate import load_labels
from checkpoint.lpr.images import load_image
from checkpoint.lpr.models import PlateColour
from checkpoint.lpr.rectify import is_double_row, plate_aspect, split_rows
from checkpoint.lpr.synthetic import double_row_from_single

SAMPLE = 12


def test_scenes_are_read_with_corners(engine: PlateEngine, plates_dev: Path) -> None:
    folder = plates_dev / "ccpd_scenes"
    rows = load_labels(folder)[:SAMPLE]
    correct = 0
    blue = 0
    for row in rows:
        reads = engine.read(load_image(folder / row.file))
        assert len(reads) <= 2
        if reads and reads[0].text == row.plate:
            correct += 1
            read = reads[0]
            assert row.box is not None
            xs = [x for x, _ in read.corners]
            assert min(xs) < row.box[2] and max(xs) > row.box[0]
            blue += read.colour is PlateColour.BLUE  # CCPD plates are blue; night shots may not look it
            assert len(read.char_confidences) == len(read.text)
            assert read.crop is not None and read.crop.ndim == 3
    assert correct >= SAMPLE - 2
    assert blue >= correct - 2


def test_roi_keeps_corners_in_frame_pixels(engine: PlateEngine, plates_dev: Path) -> None:
    folder = plates_dev / "ccpd_scenes"
    row = load_labels(folder)[0]
    assert row.box is not None
    image = load_image(folder / row.file)
    x1, y1, x2, y2 = (int(v) for v in row.box)
    reads = engine.read(image, roi=(x1 - 60, y1 - 60, x2 + 60, y2 + 60))
    assert reads and reads[0].text == row.plate
    assert abs(reads[0].corners[0][0] - x1) < 25 and abs(reads[0].corners[0][1] - y1) < 25


def test_double_row_plates_are_split_and_read(engine: PlateEngine, plates_dev: Path) -> None:
    folder = plates_dev / "crops"
    rows = load_labels(folder)[:SAMPLE]
    correct = 0
    for row in rows:
        plate = double_row_from_single(load_image(folder / row.file))
        height, width = plate.shape[:2]
        corners = ((0.0, 0.0), (width - 1.0, 0.0), (width - 1.0, height - 1.0), (0.0, height - 1.0))
        assert is_double_row(corners)
        read = engine.read_corners(plate, corners, 1.0)
        if read is not None and read.text == row.plate:
            assert read.double_row
            correct += 1
    assert correct >= SAMPLE // 2


def test_split_rows_geometry() -> None:
    plate = np.zeros((100, 200, 3), dtype=np.uint8)
    top, bottom = split_rows(plate)
    assert top.shape[0] < bottom.shape[0]
    assert top.shape[1] < bottom.shape[1] == 200


def test_cli_read_and_eval_json(plates_dev: Path, tmp_path: Path) -> None:
    source = plates_dev / "crops"
    with (source / "labels.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:4]
    with (tmp_path / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        (tmp_path / row["file"]).write_bytes((source / row["file"]).read_bytes())
    runner = CliRunner()
    scene = plates_dev / "ccpd_scenes" / "0000.jpg"
    read_result = runner.invoke(app, ["read", str(scene)])
    assert read_result.exit_code == 0, read_result.output
    first = json.loads(read_result.output.splitlines()[0])
    assert {"file", "text", "colour", "type", "confidence", "char_confidences", "corners"} <= set(first)
    assert first["vehicle_colour"] == "white"  # scene 0: a white car, labelled by eye
    report = tmp_path / "mistakes.html"
    eval_result = runner.invoke(app, ["eval", str(tmp_path), "--json", "--report", str(report)])
    assert eval_result.exit_code == 0, eval_result.output
    summary = json.loads(eval_result.stdout.strip().splitlines()[-1])
    assert set(summary) == {
        "images",
        "plates",
        "exact_accuracy",
        "char_accuracy",
        "detection_recall",
        "false_plates_per_image",
        "ms_per_image_median",
        "ms_per_plate_median",
        "province_accuracy",
        "by_province",
        "by_type",
    }
    assert sum(row["plates"] for row in summary["by_province"].values()) == 4
    assert summary["images"] == 4 and 0.0 <= summary["exact_accuracy"] <= 1.0
    assert report.is_file()


def test_a_plate_turned_away_is_read_as_one_row(engine: PlateEngine, plates_dev: Path) -> None:
    """CCPD scenes whose plate looks as narrow as a double-row one (tune split)."""
    folder = plates_dev / "ccpd_scenes"
    labels = {row.file: row.plate for row in load_labels(folder)}
    for name in ("0050.jpg", "0057.jpg", "0116.jpg"):
        image = load_image(folder / name)
        (detection,) = engine.detect(image)
        assert plate_aspect(detection.corners) < 2.4
        reads = engine.read(image)
        assert [read.text for read in reads] == [labels[name]]
        assert not reads[0].double_row
