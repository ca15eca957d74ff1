"""The reader drops the oldest frames rather than block, and counts them; PyAV frames stay YUV until read."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from checkpoint.capture.video.reader import Decoder, FrameReader, LiveClock
from tests.capture.video.conftest import write_panning_video, write_plain_video

DECODERS: list[Decoder] = ["pyav", "opencv"]


@pytest.mark.parametrize("decoder", DECODERS)
def test_a_consumer_that_does_not_keep_up_loses_old_frames_counted(tmp_path: Path, decoder: Decoder) -> None:
    video = write_plain_video(tmp_path / "plain.mp4", frames=60)
    reader = FrameReader(str(video), queue_size=3, replay=False, decoder=decoder).start()
    assert reader.ended.wait(timeout=10)  # nobody consumed: the decoder never blocked

    kept = [reader.get(timeout_s=0.1) for _ in range(3)]

    assert reader.decoded == 60 and reader.dropped == 57 and reader.skipped == 0
    assert [frame.index for frame in kept if frame is not None] == [57, 58, 59]  # the newest ones
    assert reader.error is not None  # a live source that ends is an outage, not the end


@pytest.mark.parametrize("decoder", DECODERS)
def test_replay_blocks_instead_and_keeps_every_frame(tmp_path: Path, decoder: Decoder) -> None:
    video = write_plain_video(tmp_path / "plain.mp4", frames=30)
    reader = FrameReader(str(video), queue_size=2, replay=True, decoder=decoder).start()
    indices = []
    while (frame := reader.get(timeout_s=5)) is not None:
        indices.append(frame.index)
        if reader.ended.is_set() and reader.frames.empty():
            break
    reader.close()
    assert indices == list(range(30)) and reader.dropped == 0 and reader.error is None


@pytest.mark.parametrize("decoder", DECODERS)
def test_an_unreachable_source_ends_with_an_error(tmp_path: Path, decoder: Decoder) -> None:
    reader = FrameReader(str(tmp_path / "missing.mp4"), decoder=decoder).start()
    assert reader.ended.wait(timeout=10)
    assert reader.error is not None and "cannot open" in reader.error


def test_pyav_frames_become_bgr_only_when_asked_and_match_opencv(tmp_path: Path) -> None:
    video = write_plain_video(tmp_path / "plain.mp4", frames=5, size=(64, 48))
    reader = FrameReader(str(video), queue_size=5, replay=True).start()
    frame = reader.get(timeout_s=5)
    reader.close()
    assert frame is not None and not frame.converted
    assert frame.luma is not None and frame.luma.shape == (48, 64) and frame.shape == (48, 64)

    capture = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    ok, expected = capture.read()
    capture.release()
    assert ok
    assert frame.image.shape == (48, 64, 3) and frame.converted
    assert float(np.abs(frame.image.astype(int) - expected.astype(int)).mean()) < 3.0  # chroma upsampling differs


def test_a_live_reader_that_falls_behind_decodes_only_keyframes_counted(tmp_path: Path) -> None:
    video = write_panning_video(tmp_path / "pan.mp4", frames=60)
    reader = FrameReader(str(video), queue_size=100, max_lag_s=-1.0).start()  # always "late"
    assert reader.ended.wait(timeout=10)

    indices = [frame.index for frame in iter(lambda: reader.get(timeout_s=0.1), None)]

    assert indices == [0, 12, 24, 36, 48]  # each keyframe at its place in the stream
    assert reader.decoded == 5 and reader.skipped == 55 and reader.dropped == 55


def test_a_reader_far_behind_skips_keyframes_too(tmp_path: Path) -> None:
    video = write_panning_video(tmp_path / "pan.mp4", frames=60)
    reader = FrameReader(str(video), queue_size=100, max_lag_s=-1.0, max_keyframe_lag_s=-1.0).start()
    assert reader.ended.wait(timeout=10)
    assert reader.decoded == 0 and reader.skipped == 60 and reader.frames.empty()


def test_live_clock_paces_a_file_and_follows_a_network_source() -> None:
    paced = LiveClock(0.04, follow_arrivals=False)
    assert [paced.due(pts, now=100.0) for pts in (10.0, 10.04, 10.08)] == pytest.approx([100.0, 100.04, 100.08])
    paced.new_segment()  # a looped file starts its timestamps again: it goes on one frame later
    assert paced.due(0.0, now=100.5) == pytest.approx(100.12)

    network = LiveClock(0.04, follow_arrivals=True)
    assert network.due(5.0, now=10.0) == pytest.approx(10.0)
    assert network.due(5.04, now=10.0) == pytest.approx(10.0)  # early (FFmpeg's probe buffer): the clock moves
    assert network.due(5.08, now=10.5) == pytest.approx(10.04)  # late: 0.46 s behind is the reader's backlog
