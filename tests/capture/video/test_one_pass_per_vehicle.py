"""A vehicle crossing the view gives exactly one pass, with the right plate and its images."""

from __future__ import annotations

import threading
from pathlib import Path

from redis import Redis

from checkpoint.capture.synthetic.feed import FeedTruth
from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.status import read_feed_status
from checkpoint.capture.video.worker import FeedWorker
from checkpoint.lpr import PlateEngine
from tests.capture.video.conftest import appended_passes


def test_each_vehicle_gives_one_pass_with_its_plate(
    ten_vehicle_feed: FeedTruth, plate_engine: PlateEngine, video_bus: Redis, tmp_path: Path
) -> None:
    config = FeedConfig(feed_id=7, checkpoint_id=3, checkpoint_code="HZ-T1", source=ten_vehicle_feed.video,
                        kind="file", lane=1, direction="in", replay=True, detect_every=3)
    worker = FeedWorker(config, plate_engine, video_bus, tmp_path)

    worker.run(threading.Event())  # a replayed file: returns when the file ends

    passes = appended_passes(video_bus)
    assert [p.plate for p in passes] == [vehicle.plate for vehicle in ten_vehicle_feed.vehicles]
    for captured in passes:
        assert (captured.checkpoint_id, captured.feed_id, captured.lane, captured.source) == (3, 7, 1, "camera")
        assert captured.image_path and (tmp_path / captured.image_path).stat().st_size > 10_000
        assert captured.plate_image_path and (tmp_path / captured.plate_image_path).is_file()
        assert f"/HZ-T1/{captured.pass_id}_scene.jpg" in captured.image_path
    status = read_feed_status(video_bus, 7)
    assert status["state"] == "ended" and status["passes"] == "10" and status["dropped"] == "0"
    assert worker.emitter.counts.repeats == 0
