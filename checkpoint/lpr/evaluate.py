"""Evaluation on a labelled folder (`labels.csv`): accuracy, detection recall, false plates, speed."""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from checkpoint.lpr.breakdown import Breakdown
from checkpoint.lpr.engines import PlateEngine
from checkpoint.lpr.errors import ImageError
from checkpoint.lpr.images import load_image
from checkpoint.lpr.models import PlateRead
from checkpoint.lpr.normalize import plate_type_of
from checkpoint.lpr.report import Mistake
from checkpoint.lpr.variants import VARIANTS

Split = Literal["all", "tune", "holdout"]
MATCH_IOU = 0.3


@dataclass(frozen=True, slots=True)
class LabelledImage:
    """One row of labels.csv: an image and its plate, with the plate's box when known."""

    file: str
    plate: str
    box: tuple[float, float, float, float] | None
    corners: np.ndarray | None
    plate_type: str | None = None  # the optional `type` column (synthetic sets name finer kinds)


@dataclass
class Tally:
    """Running totals of an evaluation."""

    images: int = 0
    plates: int = 0
    exact: int = 0
    char_score: float = 0.0
    detected: int = 0
    false_plates: int = 0
    image_ms: list[float] = field(default_factory=list)
    plate_ms: list[float] = field(default_factory=list)
    mistakes: list[Mistake] = field(default_factory=list)
    breakdown: Breakdown = field(default_factory=Breakdown)

    def summary(self) -> dict[str, object]:
        """The figures the CLI prints (accuracies as fractions)."""
        plates = max(self.plates, 1)
        return {
            "images": self.images,
            "plates": self.plates,
            "exact_accuracy": round(self.exact / plates, 4),
            "char_accuracy": round(self.char_score / plates, 4),
            "detection_recall": round(self.detected / plates, 4),
            "false_plates_per_image": round(self.false_plates / max(self.images, 1), 4),
            "ms_per_image_median": round(statistics.median(self.image_ms), 2) if self.image_ms else 0.0,
            "ms_per_plate_median": round(statistics.median(self.plate_ms), 2) if self.plate_ms else 0.0,
            **self.breakdown.summary(),
        }


def in_split(file: str, split: Split) -> bool:
    """Hold out every fourth image (by file number) from tuning; `tune` is the other three."""
    if split == "all":
        return True
    stem = Path(file).stem
    number = int(stem) if stem.isdigit() else sum(stem.encode())
    held_out = number % 4 == 3
    return held_out if split == "holdout" else not held_out


def load_labels(folder: Path) -> list[LabelledImage]:
    """Rows of `folder/labels.csv` (columns file, plate, bbox, corners, ...)."""
    labels_file = folder / "labels.csv"
    if not labels_file.is_file():
        raise FileNotFoundError(f"{labels_file} not found")
    rows: list[LabelledImage] = []
    with labels_file.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row.get("file") or row.get("plate") is None:
                raise ValueError(f"{labels_file}: each row needs 'file' and 'plate'")
            box_text, corner_text = (row.get("bbox") or "").strip(), (row.get("corners") or "").strip()
            box = tuple(float(v) for v in box_text.split(",")) if box_text else None
            corners = (
                np.array([[float(v) for v in point.split(",")] for point in corner_text.split(";")])
                if corner_text
                else None
            )
            if corners is not None and box is None:
                box = (*corners.min(axis=0), *corners.max(axis=0))
            plate_type = (row.get("type") or "").strip() or None
            rows.append(LabelledImage(row["file"], row["plate"].strip(), box, corners, plate_type))  # type: ignore[arg-type]
    return rows


def char_accuracy(expected: str, read: str) -> float:
    """1 - edit distance / plate length, floored at 0."""
    previous = list(range(len(read) + 1))
    for i, expected_char in enumerate(expected, start=1):
        current = [i]
        for j, read_char in enumerate(read, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (expected_char != read_char)))
        previous = current
    return max(0.0, 1.0 - previous[-1] / max(len(expected), 1))


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    overlap_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    overlap_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = overlap_w * overlap_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


def evaluate(
    engine: PlateEngine,
    folder: Path,
    *,
    split: Split = "all",
    variant: str | None = None,
    crops: bool | None = None,
    progress: Callable[[Iterable[LabelledImage]], Iterable[LabelledImage]] = lambda rows: rows,
) -> Tally:
    """Run the engine over the labelled images; `crops` (default: no boxes in the labels) skips detection."""
    rows = [row for row in load_labels(folder) if in_split(row.file, split)]
    if crops is None:
        crops = all(row.box is None for row in rows)
    distort = VARIANTS[variant] if variant else None
    tally = Tally()
    for row in progress(rows):
        try:
            image = load_image(folder / row.file)
        except ImageError as exc:
            tally.images += 1
            tally.plates += 1
            tally.mistakes.append(Mistake(row.file, row.plate, f"unreadable: {exc}", 0.0, None))
            continue
        box = row.box
        if distort is not None:
            image, move = distort(image)
            if row.corners is not None:
                moved = move(row.corners)
                box = (*moved.min(axis=0), *moved.max(axis=0))
        tally.images += 1
        tally.plates += 1
        if crops:
            started = time.perf_counter()
            read = engine.read_plate_image(image)
            elapsed_ms = (time.perf_counter() - started) * 1000
            tally.image_ms.append(elapsed_ms)
            tally.plate_ms.append(elapsed_ms)
            tally.detected += 1
            _score(tally, row, read)
            continue
        started = time.perf_counter()
        detections = engine.detect(image)
        reads: list[tuple[tuple[float, float, float, float], PlateRead]] = []
        for detection in detections:
            plate_started = time.perf_counter()
            read = engine.read_corners(image, detection.corners, detection.score)
            tally.plate_ms.append((time.perf_counter() - plate_started) * 1000)
            if read is not None:
                reads.append((detection.box, read))
        tally.image_ms.append((time.perf_counter() - started) * 1000)
        if box is None:
            matched = reads[0][1] if reads else None
            tally.detected += bool(detections)
            tally.false_plates += max(0, len(reads) - 1)
        else:
            tally.detected += any(iou(detection.box, box) >= MATCH_IOU for detection in detections)
            overlapping = [(iou(found_box, box), read) for found_box, read in reads]
            best = max(overlapping, key=lambda pair: pair[0], default=(0.0, None))
            matched = best[1] if best[0] >= MATCH_IOU else None
            tally.false_plates += sum(1 for overlap, _ in overlapping if overlap < MATCH_IOU)
        _score(tally, row, matched)
    return tally


def _score(tally: Tally, row: LabelledImage, read: PlateRead | None) -> None:
    text = read.text if read is not None else ""
    tally.breakdown.add(row.plate, text, row.plate_type or plate_type_of(row.plate).value)
    tally.char_score += char_accuracy(row.plate, text)
    if text == row.plate:
        tally.exact += 1
    else:
        tally.mistakes.append(
            Mistake(row.file, row.plate, text, read.confidence if read else 0.0, read.crop if read else None)
        )
