"""The feed generator writes a playable video and its ground truth; without real crops it says it rendered."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from checkpoint.capture.synthetic.feed import FeedTruth, truth_path
from checkpoint.capture.synthetic.plates import cjk_font, plate_samples
from checkpoint.cli import app


def test_generate_writes_video_and_truth(tmp_path: Path) -> None:
    if cjk_font() is None:
        pytest.skip("no CJK font for rendered plates (apt-get install fonts-noto-cjk)")
    video = tmp_path / "small.mp4"
    result = CliRunner().invoke(app, ["capture", "generate", str(video), "--vehicles", "3", "--width", "640",
                                      "--height", "360", "--gap-s", "1"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    truth = FeedTruth.load(truth_path(video))
    assert summary["vehicles"] == len(truth.vehicles) == 3 and truth.plate_source in ("real", "rendered")
    assert all(0 <= v.entry_frame < v.exit_frame < truth.frames for v in truth.vehicles)
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == truth.frames
    assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (640, 360)
    capture.release()


def test_rendered_plates_are_labelled_as_such() -> None:
    if cjk_font() is None:
        pytest.skip("no CJK font for rendered plates (apt-get install fonts-noto-cjk)")
    source, samples = plate_samples(4, seed=1, source="rendered")
    assert source == "rendered" and len({s.text for s in samples}) == 4
    assert all(s.image.shape == (48, 188, 3) and len(s.text) == 7 for s in samples)
