"""Vehicle colour from the frame around the plate, against colours labelled by eye.

bench/data/ccpd_scene_vehicle_colours.csv names, for 116 of the 160 CCPD dev scenes, the body
colour a person saw on a contact sheet of the car around its plate (44 left out: night,
glare, or a colour cast too strong to name). The plate corners come from the scenes' own
labels, so this measures the colour method alone. Prints one JSON line.

    python -m bench.bench_vehicle_colour
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np

from checkpoint.lpr.evaluate import load_labels
from checkpoint.lpr.images import load_image
from checkpoint.lpr.vehicle_colour import vehicle_colour_near

SCENES = next((folder / "shared" / "data" for folder in Path(__file__).resolve().parents
               if (folder / "shared" / "data").is_dir()), Path("/nonexistent")) / "plates-dev" / "ccpd_scenes"
LABELS = Path(__file__).resolve().parent / "data" / "ccpd_scene_vehicle_colours.csv"
NEUTRAL = {"white", "silver", "grey", "black"}
LIGHT = {"white", "silver"}


def main() -> None:
    corners = {row.file: row.corners for row in load_labels(SCENES)}
    with LABELS.open(encoding="utf-8") as handle:
        truth = {row["file"]: row["vehicle_colour"] for row in csv.DictReader(handle)}
    exact = light_dark = answered = 0
    confusion: Counter[str] = Counter()
    for file, expected in truth.items():
        points = corners[file]
        assert points is not None
        found = vehicle_colour_near(load_image(SCENES / file), tuple(map(tuple, np.asarray(points))))  # type: ignore[arg-type]
        word = found.word if found else "none"
        answered += found is not None
        exact += word == expected
        same_group = (word in LIGHT and expected in LIGHT) or word == expected or (
            word in NEUTRAL - LIGHT and expected in NEUTRAL - LIGHT)
        light_dark += same_group
        if word != expected:
            confusion[f"{expected}->{word}"] += 1
    total = len(truth)
    print(json.dumps({
        "vehicles": total, "answered": answered, "exact": round(exact / total, 4),
        "exact_grouping_white_silver_and_grey_black": round(light_dark / total, 4),
        "truth": dict(Counter(truth.values()).most_common()), "mistakes": dict(confusion.most_common()),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
