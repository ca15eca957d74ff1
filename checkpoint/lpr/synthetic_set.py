"""The balanced synthetic set: every province x every GA 36 plate kind, written as a labelled folder.

`checkpoint lpr synth OUT` writes plate crops and a `labels.csv` that `checkpoint lpr eval`
reads like any other set; its `type` column names the kind (blue, yellow_double, military ...),
so the per-type table splits by how the plate looks, not only by its text format.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from checkpoint.lpr.alphabet import PROVINCES
from checkpoint.lpr.plate_render import KINDS, PlateKind, degrade, plate_text, provinces_for, render_plate


def balanced_rows(per_cell: int, seed: int, kinds: tuple[PlateKind, ...] = KINDS) -> list[tuple[PlateKind, str]]:
    """(kind, text) for `per_cell` plates of every province of every kind; kinds without a
    province get as many plates as one province row holds, so every kind weighs the same."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[PlateKind, str]] = []
    for kind in kinds:
        provinces = provinces_for(kind)
        count = per_cell if len(provinces) > 1 else per_cell * len(PROVINCES)
        for province in provinces:
            rows.extend((kind, plate_text(kind, province, rng)) for _ in range(count))
    return rows


def write_balanced_set(
    folder: Path, *, per_cell: int = 2, seed: int = 36, kinds: tuple[PlateKind, ...] = KINDS
) -> int:
    """Render the set into `folder` (images + labels.csv); returns how many plates it holds."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    rows = balanced_rows(per_cell, seed, kinds)
    with (folder / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "plate", "bbox", "corners", "source", "type"])
        for index, (kind, text) in enumerate(rows):
            image = degrade(render_plate(kind, text), rng)
            name = f"{index:05d}.png"
            cv2.imwrite(str(folder / name), image)
            writer.writerow([name, text, "", "", f"synthetic seed={seed}", kind.name])
    return len(rows)
