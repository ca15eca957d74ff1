"""Plate images for generated feeds: real crops from ../shared/data when present, else rendered text.

Real crops are evaluation data (CCPD origin): they are read from the shared folder at run time
and never copied into the project. The rendered fallback is labelled `rendered` wherever a
figure made from it is reported.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

SHARED_CROPS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "plates-dev" / "crops"
CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
PROVINCES = "粤京沪湘赣桂闽川苏浙鲁豫鄂"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class PlateSample:
    """One plate picture and its text."""

    text: str
    image: Image  # BGR


class NoPlateSource(RuntimeError):
    """Neither the shared crops nor a CJK font is available to make plates."""


def load_real_crops(folder: Path = SHARED_CROPS, limit: int | None = None) -> list[PlateSample]:
    """The labelled real crops (94x24 blue plates), in file order; empty when the folder is absent."""
    labels = folder / "labels.csv"
    if not labels.exists():
        return []
    samples: list[PlateSample] = []
    with labels.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            image = cv2.imread(str(folder / row["file"]), cv2.IMREAD_COLOR)
            if image is None:
                continue
            samples.append(PlateSample(text=row["plate"], image=image.astype(np.uint8)))
            if limit is not None and len(samples) >= limit:
                break
    return samples


def cjk_font() -> Path | None:
    return next((path for path in CJK_FONTS if path.exists()), None)


# GA 36 plate faces as (background, characters) in RGB
PLATE_FACES = {"blue": ((20, 70, 190), (245, 245, 245)), "yellow": ((240, 190, 20), (20, 20, 20)),
               "green": ((120, 210, 140), (20, 20, 20)), "white": ((240, 240, 240), (20, 20, 20)),
               "black": ((20, 20, 20), (245, 245, 245))}


@lru_cache(maxsize=8)
def _font(font_path: Path, pixels: int) -> Any:
    """Loading a CJK font takes a millisecond or more: once per path and size."""
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path), pixels)


def render_plate(text: str, font_path: Path, size: tuple[int, int] = (188, 48), face: str = "blue") -> Image:
    """A plate (`face`: a PLATE_FACES colour, blue by default) with its characters drawn in a CJK font
    (synthetic, not a real plate face)."""
    from PIL import Image as PilImage
    from PIL import ImageDraw

    width, height = size
    background, ink = PLATE_FACES.get(face, PLATE_FACES["blue"])
    plate = PilImage.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(plate)
    draw.rectangle((2, 2, width - 3, height - 3), outline=ink, width=2)
    step = (width - 16) / len(text)
    font = _font(font_path, int(min(height * 0.72, step * 1.3)))  # eight-character green plates: smaller
    for index, char in enumerate(text):
        centre = 8 + (index + 0.5) * step + (step * 0.35 if index >= 2 else 0.0) * 0.3
        draw.text((centre, height / 2), char, font=font, fill=ink, anchor="mm")  # centred: nothing clipped
    return cv2.cvtColor(np.asarray(plate, dtype=np.uint8), cv2.COLOR_RGB2BGR).astype(np.uint8)


def rendered_samples(count: int, seed: int) -> list[PlateSample]:
    """`count` random plates rendered with the installed CJK font."""
    font_path = cjk_font()
    if font_path is None:
        raise NoPlateSource("no ../shared/data crops and no CJK font (apt-get install fonts-noto-cjk)")
    rng = random.Random(seed)
    samples = []
    for _ in range(count):
        text = rng.choice(PROVINCES) + rng.choice(LETTERS) + "".join(rng.choice("0123456789" + LETTERS[:10])
                                                                      for _ in range(5))
        samples.append(PlateSample(text=text, image=render_plate(text, font_path)))
    return samples


def plate_samples(count: int, seed: int = 0, source: str = "auto") -> tuple[str, list[PlateSample]]:
    """(`real` or `rendered`, `count` distinct plates); `source` forces one of them."""
    if source in ("auto", "real"):
        crops = load_real_crops()
        if crops:
            rng = random.Random(seed)
            by_text = {sample.text: sample for sample in crops}  # a plate appears once per feed
            chosen = rng.sample(sorted(by_text), k=min(count, len(by_text)))
            return "real", [by_text[text] for text in chosen]
        if source == "real":
            raise NoPlateSource(f"no labelled crops at {SHARED_CROPS}")
    return "rendered", rendered_samples(count, seed)
