"""Plate tracks across frames: each read joins the track whose predicted position it is nearest.

Between two processed frames a plate may move further than its own height, so boxes rarely
overlap; association is by centre distance to a constant-velocity prediction, measured in the
track's plate widths. A plate's size changes little from one processed frame to the next, so a
read much larger or smaller than the track's plate (a false detection on the grille of a vehicle
leaving the view) never joins it: it would drag the prediction onto the next vehicle.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime

from checkpoint.capture.video.reader import Frame
from checkpoint.lpr import PlateRead

MAX_JUMP_PLATE_WIDTHS = 2.5  # a read further than this from the prediction starts a new track
MAX_WIDTH_RATIO = 1.5  # a read this much wider or narrower than the track's plate starts a new track


@dataclass
class Sighting:
    """One read of the track's plate, in the frame it came from."""

    t_s: float
    frame_index: int
    read: PlateRead
    centre: tuple[float, float]
    width: float


@dataclass
class Track:
    """One vehicle's plate across frames, with the frame that showed it best."""

    track_id: int
    sightings: list[Sighting] = field(default_factory=list)
    best_frame: Frame | None = None
    best_confidence: float = -1.0

    @property
    def best_at(self) -> datetime | None:
        return self.best_frame.at if self.best_frame else None

    @property
    def last(self) -> Sighting:
        return self.sightings[-1]

    @property
    def reads(self) -> list[PlateRead]:
        return [sighting.read for sighting in self.sightings]

    def predicted_centre(self, t_s: float) -> tuple[float, float]:
        last = self.last
        if len(self.sightings) < 2:
            return last.centre
        before = self.sightings[-2]
        dt = max(last.t_s - before.t_s, 1e-3)
        vx, vy = (last.centre[0] - before.centre[0]) / dt, (last.centre[1] - before.centre[1]) / dt
        ahead = t_s - last.t_s
        return last.centre[0] + vx * ahead, last.centre[1] + vy * ahead


def plate_centre_and_width(read: PlateRead) -> tuple[tuple[float, float], float]:
    xs = [x for x, _ in read.corners]
    ys = [y for _, y in read.corners]
    return (sum(xs) / 4, sum(ys) / 4), max(max(xs) - min(xs), 1.0)


class PlateTracker:
    """Feed it the reads of each processed frame; it hands back the tracks that have ended."""

    def __init__(self, lost_s: float = 0.5) -> None:
        self.lost_s = lost_s
        self.active: list[Track] = []
        self._ids = itertools.count(1)

    def update(self, t_s: float, frame: Frame, reads: list[PlateRead]) -> list[Track]:
        """Add this frame's reads; return the tracks not seen for `lost_s`."""
        pairs: list[tuple[float, int, int]] = []
        placed = [plate_centre_and_width(read) for read in reads]
        for track_index, track in enumerate(self.active):
            px, py = track.predicted_centre(t_s)
            for read_index, (centre, width) in enumerate(placed):
                if not 1 / MAX_WIDTH_RATIO <= width / track.last.width <= MAX_WIDTH_RATIO:
                    continue
                jump = math.hypot(centre[0] - px, centre[1] - py) / track.last.width
                if jump <= MAX_JUMP_PLATE_WIDTHS:
                    pairs.append((jump, track_index, read_index))
        taken_tracks: set[int] = set()
        taken_reads: set[int] = set()
        for _jump, track_index, read_index in sorted(pairs):
            if track_index in taken_tracks or read_index in taken_reads:
                continue
            taken_tracks.add(track_index)
            taken_reads.add(read_index)
            self._add(self.active[track_index], t_s, frame, reads[read_index], placed[read_index])
        for read_index, read in enumerate(reads):
            if read_index not in taken_reads:
                track = Track(next(self._ids))
                self.active.append(track)
                self._add(track, t_s, frame, read, placed[read_index])
        ended = [track for track in self.active if t_s - track.last.t_s > self.lost_s]
        self.active = [track for track in self.active if t_s - track.last.t_s <= self.lost_s]
        return ended

    def flush(self) -> list[Track]:
        """End every track (the source ended)."""
        ended, self.active = self.active, []
        return ended

    @staticmethod
    def _add(track: Track, t_s: float, frame: Frame, read: PlateRead, placed: tuple[tuple[float, float], float]
             ) -> None:
        track.sightings.append(Sighting(t_s, frame.index, read, placed[0], placed[1]))
        if read.confidence > track.best_confidence:
            track.best_confidence = read.confidence
            track.best_frame = frame  # frames are never written to after decoding: no copy needed
