"""Live feeds read plates at a reduced rate while they need no more reads; replay reads every gated frame."""

from __future__ import annotations

from dataclasses import replace

from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.tracker import Sighting, Track
from checkpoint.capture.video.worker import lpr_interval_s
from tests.capture.video.test_tracking import read_at

LIVE = FeedConfig(feed_id=1, checkpoint_id=1, checkpoint_code="HZ-RATE", source="rtsp://camera/lane1",
                  well_read_reads=3, well_read_every_s=0.2, search_every_s=0.12)


def track_with(reads: int) -> Track:
    track = Track(reads)
    track.sightings = [Sighting(t_s=i / 25, frame_index=i, read=read_at("粤A12345", 600, 100 + 10 * i),
                                centre=(600, 100 + 10 * i), width=150) for i in range(reads)]
    return track


def test_a_new_track_is_read_on_every_frame_a_well_read_one_five_times_a_second() -> None:
    assert lpr_interval_s(LIVE, [track_with(1)]) == 0.0
    assert lpr_interval_s(LIVE, [track_with(3), track_with(2)]) == 0.0  # one of them still needs reads
    assert lpr_interval_s(LIVE, [track_with(3), track_with(5)]) == 0.2


def test_motion_without_a_plate_is_searched_at_a_reduced_rate() -> None:
    assert lpr_interval_s(LIVE, []) == 0.12


def test_replay_reads_every_gated_frame() -> None:
    replayed = replace(LIVE, source="/srv/lane.mp4", kind="file", replay=True)
    assert lpr_interval_s(replayed, []) == 0.0 and lpr_interval_s(replayed, [track_with(9)]) == 0.0
