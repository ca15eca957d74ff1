"""Write a generated feed as a video file with its ground truth (plate, entry and exit frame) as JSON.

    python -m checkpoint.capture.synthetic.feed /tmp/feed.mp4 --vehicles 10 --width 1280 --height 720
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from checkpoint.capture.synthetic.plates import plate_samples
from checkpoint.capture.synthetic.scene import LaneScene, schedule


@dataclass(frozen=True)
class VehicleTruth:
    """A vehicle of the feed: its plate and the frames in which the plate is wholly in view."""

    plate: str
    entry_frame: int
    exit_frame: int


@dataclass(frozen=True)
class FeedTruth:
    """What a generated feed contains; `plate_source` is `real` (shared crops) or `rendered` (font)."""

    video: str
    width: int
    height: int
    fps: float
    frames: int
    plate_source: str
    vehicles: list[VehicleTruth]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path: Path) -> FeedTruth:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**raw, "vehicles": [VehicleTruth(**item) for item in raw["vehicles"]]})


def truth_path(video: Path) -> Path:
    return video.with_suffix(".json")


def generate_feed(video: Path, *, vehicles: int = 10, size: tuple[int, int] = (1920, 1080), fps: float = 25.0,
                  gap_s: float = 3.0, crossing_s: float = 2.0, seed: int = 0, plates: str = "auto",
                  tail_s: float = 1.0, plate_px: int = 170) -> FeedTruth:
    """Render the feed to `video` (MPEG-4 part 2 in .mp4/.avi) and its truth to the .json beside it.

    `plate_px` is the plate width at mid-crossing: lane cameras are set up for 150-200 px plates.
    """
    plate_source, samples = plate_samples(vehicles, seed=seed, source=plates)
    path = schedule(len(samples), gap_s=gap_s, crossing_s=crossing_s, seed=seed)
    scene = LaneScene(size, fps, path, [sample.image for sample in samples], seed=seed, plate_px=plate_px)
    last = max(vehicle.enter_s + vehicle.crossing_s for vehicle in path)
    frame_count = int((last + tail_s) * fps)
    visible: dict[int, list[int]] = {}
    video.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {video}")
    try:
        for index in range(frame_count):
            writer.write(scene.frame(index))
            for vehicle in path:
                if scene.plate_box(index, vehicle) is not None:
                    visible.setdefault(vehicle.plate_index, []).append(index)
    finally:
        writer.release()
    truth = FeedTruth(
        video=str(video), width=size[0], height=size[1], fps=fps, frames=frame_count, plate_source=plate_source,
        vehicles=[VehicleTruth(plate=samples[i].text, entry_frame=min(frames), exit_frame=max(frames))
                  for i, frames in sorted(visible.items())],
    )
    truth_path(video).write_text(truth.to_json(), encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("video", type=Path)
    parser.add_argument("--vehicles", type=int, default=10)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--gap-s", type=float, default=3.0)
    parser.add_argument("--crossing-s", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plate-px", type=int, default=170)
    parser.add_argument("--plates", choices=("auto", "real", "rendered"), default="auto")
    args = parser.parse_args(argv)
    truth = generate_feed(args.video, vehicles=args.vehicles, size=(args.width, args.height), fps=args.fps,
                          gap_s=args.gap_s, crossing_s=args.crossing_s, seed=args.seed, plates=args.plates,
                          plate_px=args.plate_px)
    print(json.dumps({"video": truth.video, "frames": truth.frames, "vehicles": len(truth.vehicles),
                      "plate_source": truth.plate_source}, ensure_ascii=False))


if __name__ == "__main__":
    main()
