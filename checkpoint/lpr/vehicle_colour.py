"""Vehicle body colour from the frame around the plate: an image method, no trained model.

No model on a package registry that we could ship offline reads vehicle colour or type (see
docs/DEPENDENCIES.md), so colour is measured: patches of bumper beside the plate and of bonnet
above it (sized by the plate, 440 mm wide on a ~1.8 m car), each pixel classed by HSV into
GA/T 1400's colour words, the commonest class winning. Grille, lamps and shadow are avoided
by where the patches sit, not recognised; type (car, SUV, van ...) is not attempted.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from checkpoint.lpr.models import Corners

Image = npt.NDArray[np.uint8]

COLOUR_WORDS = ("white", "silver", "grey", "black", "red", "orange", "yellow", "green", "blue", "purple", "brown")
"""The words this method can answer: a subset of passes.vehicle.VEHICLE_COLOURS."""

# patches around the plate, in plate widths from its centre (x) and from its top edge (y, up < 0)
PATCHES: tuple[tuple[float, float, float, float], ...] = (
    (-1.2, 0.0, -0.6, 0.3),  # bumper left of the plate
    (0.6, 0.0, 1.2, 0.3),  # bumper right of the plate
    (-0.8, -0.9, 0.8, -0.4),  # boot lid (rear view) or grille (front view) above the plate
    (-0.8, -1.8, 0.8, -1.3),  # bonnet above the grille (front view), rear window (rear view)
)
MIN_SHARE = 0.3
DARK_WEIGHT = 0.6  # grille, glass and shadow are black on every car: black must win clearly
MIN_GAIN, MAX_GAIN = 0.6, 1.6  # white balance never more than this  # below this share the commonest class is no answer


@dataclass(frozen=True, slots=True)
class VehicleColour:
    """The colour word and the share of sampled body pixels that had it."""

    word: str
    share: float


def classify_pixels(hsv: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Per pixel, its index in COLOUR_WORDS (OpenCV HSV: hue 0..180)."""
    hue = hsv[..., 0].astype(np.int32)
    sat = hsv[..., 1].astype(np.int32)
    val = hsv[..., 2].astype(np.int32)
    index = np.full(hue.shape, COLOUR_WORDS.index("grey"), dtype=np.int64)
    grey_scale = (sat < 60) | (val < 50)
    index[grey_scale & (val >= 170)] = COLOUR_WORDS.index("white")
    index[grey_scale & (val >= 115) & (val < 170)] = COLOUR_WORDS.index("silver")
    index[grey_scale & (val < 70)] = COLOUR_WORDS.index("black")
    coloured = ~grey_scale
    bins = (
        ("red", (hue < 8) | (hue >= 165)),
        ("orange", (hue >= 8) & (hue < 18)),
        ("yellow", (hue >= 18) & (hue < 34)),
        ("green", (hue >= 34) & (hue < 85)),
        ("blue", (hue >= 85) & (hue < 130)),
        ("purple", (hue >= 130) & (hue < 165)),
    )
    for word, mask in bins:
        index[coloured & mask] = COLOUR_WORDS.index(word)
    weak_purple = coloured & (index == COLOUR_WORDS.index("purple")) & (sat < 110)
    index[weak_purple & (val >= 170)] = COLOUR_WORDS.index("white")  # what white balance leaves of a cast
    index[weak_purple & (val < 170)] = COLOUR_WORDS.index("silver")
    dull_orange = coloured & (index == COLOUR_WORDS.index("orange")) & ((sat < 110) | (val < 110))
    index[dull_orange] = COLOUR_WORDS.index("brown")
    return index


def grey_world_gains(frame: Image) -> npt.NDArray[np.float32]:
    """Per-channel gains that make the frame's mean grey: street cameras and phones often cast the
    whole scene green or blue, which would otherwise turn white cars green."""
    small = cv2.resize(frame, (64, 64), interpolation=cv2.INTER_AREA).reshape(-1, 3).astype(np.float32)
    means = np.maximum(small.mean(axis=0), 1.0)
    gains = np.clip(means.mean() / means, MIN_GAIN, MAX_GAIN)
    scaled: npt.NDArray[np.float32] = (gains / gains.max()).astype(np.float32)  # only damp: a clipped channel tints
    return scaled


def body_patches(frame: Image, corners: Corners) -> list[Image]:
    """The bumper and bonnet patches that lie inside the frame (none for a plate with no width)."""
    points = np.asarray(corners, dtype=np.float32)
    width = float(np.linalg.norm(points[1] - points[0]))
    if width < 4:
        return []
    centre_x = float(points[:, 0].mean())
    top = float(points[:2, 1].mean())
    height, frame_width = frame.shape[:2]
    patches: list[Image] = []
    for x1, y1, x2, y2 in PATCHES:
        left, right = int(max(0, centre_x + x1 * width)), int(min(frame_width, centre_x + x2 * width))
        upper, lower = int(max(0, top + y1 * width)), int(min(height, top + y2 * width))
        if right - left >= 4 and lower - upper >= 4:
            patches.append(frame[upper:lower, left:right])
    return patches


def vehicle_colour_near(frame: Image, corners: Corners) -> VehicleColour | None:
    """The body colour around the plate, or None when too little of the body is in the frame or no
    colour holds MIN_SHARE of it."""
    patches = body_patches(frame, corners)
    if not patches:
        return None
    gains = grey_world_gains(frame)
    counts = np.zeros(len(COLOUR_WORDS), dtype=np.float64)
    for patch in patches:
        small = cv2.resize(patch, (32, 16), interpolation=cv2.INTER_AREA) if patch.shape[1] > 32 else patch
        balanced = np.clip(small.astype(np.float32) * gains, 0, 255).astype(np.uint8)
        hsv = cv2.cvtColor(cv2.GaussianBlur(balanced, (3, 3), 0), cv2.COLOR_BGR2HSV)
        counts += np.bincount(classify_pixels(hsv).ravel(), minlength=len(COLOUR_WORDS)) / hsv[..., 0].size
    counts[COLOUR_WORDS.index("black")] *= DARK_WEIGHT
    shares = counts / counts.sum()
    best = int(np.argmax(shares))
    if shares[best] < MIN_SHARE:
        return None
    return VehicleColour(COLOUR_WORDS[best], round(float(shares[best]), 3))
