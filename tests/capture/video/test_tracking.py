"""Tracker and pass logic on hand-made reads: no model, known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from redis import Redis

from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.emitter import PassEmitter
from checkpoint.capture.video.reader import Frame
from checkpoint.capture.video.tracker import PlateTracker, Track
from checkpoint.lpr import PlateColour, PlateRead, PlateType
from tests.capture.video.conftest import appended_passes

START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def read_at(text: str, x: float, y: float, confidence: float = 0.9, width: float = 150.0) -> PlateRead:
    corners = ((x - width / 2, y - 20), (x + width / 2, y - 20), (x + width / 2, y + 20), (x - width / 2, y + 20))
    return PlateRead(text=text, colour=PlateColour.BLUE, plate_type=PlateType.STANDARD, confidence=confidence,
                     char_confidences=(confidence,) * len(text), corners=corners,
                     crop=np.zeros((64, 320, 3), np.uint8))


def frame_at(index: int) -> Frame:
    return Frame(index, START + timedelta(seconds=index / 25), 0.0, np.zeros((72, 128, 3), np.uint8))


def test_two_plates_in_view_stay_on_their_own_tracks() -> None:
    tracker = PlateTracker(lost_s=0.5)
    ended: list[Track] = []
    for step in range(10):  # two vehicles 400 px apart, both moving 90 px per processed frame
        frame = frame_at(step * 3)
        reads = [read_at("粤A12345", 600, 100 + 90 * step), read_at("粤B67890", 620, 500 + 90 * step)]
        ended += tracker.update(frame.at.timestamp(), frame, reads)
    assert ended == []
    ended = tracker.update(frame_at(60).at.timestamp(), frame_at(60), [])
    assert sorted({read.text for read in track.reads} == {text} for track, text in
                  zip(sorted(ended, key=lambda t: t.track_id), ("粤A12345", "粤B67890"), strict=True)) == [True, True]


def test_a_far_jump_starts_a_new_track() -> None:
    tracker = PlateTracker(lost_s=0.5)
    tracker.update(0.0, frame_at(0), [read_at("粤A12345", 600, 100)])
    tracker.update(0.12, frame_at(3), [read_at("粤A12345", 600, 900)])
    assert len(tracker.active) == 2


def test_a_read_of_another_size_does_not_join_the_track() -> None:
    """A false detection on the grille of a vehicle leaving the view (much wider than its plate) must
    not join the plate's track: it would drag the track's prediction onto the next vehicle."""
    tracker = PlateTracker(lost_s=0.5)
    for step in range(3):
        frame = frame_at(step * 3)
        tracker.update(frame.at.timestamp(), frame, [read_at("粤A12345", 600, 700 + 90 * step)])
    frame = frame_at(9)
    tracker.update(frame.at.timestamp(), frame, [read_at("粤Q11111", 600, 960, width=400.0)])
    assert sorted(len(track.sightings) for track in tracker.active) == [1, 3]
    frame = frame_at(12)
    tracker.update(frame.at.timestamp(), frame, [read_at("粤A12345", 602, 1050, width=160.0)])
    assert sorted(len(track.sightings) for track in tracker.active) == [1, 4]  # a slightly larger plate still joins


def test_vote_fixes_a_misread_and_the_repeat_window_drops_the_second_sighting(video_bus: Redis, tmp_path: Path) -> None:
    config = FeedConfig(feed_id=1, checkpoint_id=2, checkpoint_code="HZ-T2", source="x", repeat_window_s=60,
                        min_reads=2)
    emitter = PassEmitter(config, video_bus, tmp_path)

    def track_of(texts: list[str], first_frame: int) -> Track:
        tracker = PlateTracker()
        for offset, text in enumerate(texts):
            frame = frame_at(first_frame + offset * 3)
            tracker.update(frame.at.timestamp(), frame, [read_at(text, 600, 100 + 60 * offset)])
        return tracker.flush()[0]

    first = emitter.emit(track_of(["粤A12345", "粤A12845", "粤A12345"], 0))
    assert first is not None and first.plate == "粤A12345"
    assert emitter.emit(track_of(["粤A12345", "粤A12345"], 25 * 30)) is None  # 30 s later: a repeat
    assert emitter.emit(track_of(["粤A12345", "粤A12345"], 25 * 61)) is not None  # 61 s later: a new pass
    assert emitter.emit(track_of(["粤C11111"], 25 * 70)) is None  # one read: noise
    assert (emitter.counts.passes, emitter.counts.repeats, emitter.counts.noise_tracks) == (2, 1, 1)
    stored = appended_passes(video_bus)
    assert [p.captured_at - START for p in stored] == [timedelta(0), timedelta(seconds=61)]
