"""The reader drops the oldest frames rather than block, and counts them."""

from __future__ import annotations

from pathlib import Path

from checkpoint.capture.video.reader import FrameReader
from tests.capture.video.conftest import write_plain_video


def test_a_consumer_that_does_not_keep_up_loses_old_frames_counted(tmp_path: Path) -> None:
    video = write_plain_video(tmp_path / "plain.mp4", frames=60)
    reader = FrameReader(str(video), queue_size=3, replay=False).start()
    assert reader.ended.wait(timeout=10)  # nobody consumed: the decoder never blocked

    kept = [reader.get(timeout_s=0.1) for _ in range(3)]

    assert reader.decoded == 60 and reader.dropped == 57
    assert [frame.index for frame in kept if frame is not None] == [57, 58, 59]  # the newest ones
    assert reader.error is not None  # a live source that ends is an outage, not the end


def test_replay_blocks_instead_and_keeps_every_frame(tmp_path: Path) -> None:
    video = write_plain_video(tmp_path / "plain.mp4", frames=30)
    reader = FrameReader(str(video), queue_size=2, replay=True).start()
    indices = []
    while (frame := reader.get(timeout_s=5)) is not None:
        indices.append(frame.index)
        if reader.ended.is_set() and reader.frames.empty():
            break
    reader.close()
    assert indices == list(range(30)) and reader.dropped == 0 and reader.error is None


def test_an_unreachable_source_ends_with_an_error(tmp_path: Path) -> None:
    reader = FrameReader(str(tmp_path / "missing.mp4")).start()
    assert reader.ended.wait(timeout=10)
    assert reader.error is not None and "cannot open" in reader.error
