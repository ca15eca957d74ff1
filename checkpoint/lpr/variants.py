"""Hard variants of evaluation images (rotation to 45°, blur, low light, rain, JPEG 30, small scale).

Each variant returns the changed image and a function that maps label points to it, so the
labelled corners still say where the plate is.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float64]
PointMap = Callable[[Points], Points]
Variant = Callable[[Image], tuple[Image, PointMap]]


def _same(points: Points) -> Points:
    return points


def rotate(image: Image, degrees: float = 10.0) -> tuple[Image, PointMap]:
    """Rotate about the centre, as a camera mounted askew would see the scene."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    rotated = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)

    def move(points: Points) -> Points:
        moved: Points = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
        return moved

    return rotated, move  # type: ignore[return-value]


def blur(image: Image) -> tuple[Image, PointMap]:
    """Motion-like blur: a 7-pixel horizontal streak, then a light Gaussian."""
    kernel = np.zeros((7, 7), dtype=np.float32)
    kernel[3, :] = 1.0 / 7
    streaked = cv2.filter2D(image, -1, kernel)
    return cv2.GaussianBlur(streaked, (3, 3), 0), _same  # type: ignore[return-value]


def low_light(image: Image) -> tuple[Image, PointMap]:
    """Night-time exposure: a quarter of the light, gamma-darkened, with sensor noise."""
    rng = np.random.default_rng(0)
    dark = 255.0 * (image.astype(np.float32) / 255.0) ** 1.6 * 0.35
    noisy = dark + rng.normal(0.0, 4.0, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8), _same


def jpeg_30(image: Image) -> tuple[Image, PointMap]:
    """Re-encoded as JPEG at quality 30, as a starved network link would deliver."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 30])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR), _same  # type: ignore[return-value]


def small(image: Image, factor: float = 0.5) -> tuple[Image, PointMap]:
    """The scene at half the size: plates half as wide (CCPD plates become ~70-140 px)."""
    shrunk = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)

    def move(points: Points) -> Points:
        return points * factor

    return shrunk, move  # type: ignore[return-value]


def rain(image: Image) -> tuple[Image, PointMap]:
    """Rain: thin bright slanted streaks over a dimmed, slightly blurred scene."""
    rng = np.random.default_rng(1)
    height, width = image.shape[:2]
    drops = np.zeros((height, width), dtype=np.float32)
    count = height * width // 400
    drops[rng.integers(0, height, count), rng.integers(0, width, count)] = 1.0
    streak = np.zeros((15, 15), dtype=np.float32)
    np.fill_diagonal(streak, 1.0 / 15)  # drops fall slanted
    streaks = cv2.filter2D(drops, -1, np.rot90(streak)) * 15 * 110.0  # each streak ~110 grey levels bright
    dim = cv2.GaussianBlur(image, (3, 3), 0).astype(np.float32) * 0.8
    return np.clip(dim + streaks[..., None], 0, 255).astype(np.uint8), _same


VARIANTS: dict[str, Variant] = {
    "rotate10": rotate,
    "blur": blur,
    "low_light": low_light,
    "jpeg30": jpeg_30,
    "small50": small,
    "rotate30": lambda image: rotate(image, 30.0),
    "rotate45": lambda image: rotate(image, 45.0),
    "small35": lambda image: small(image, 0.35),  # CCPD plates become ~50-100 px wide
    "rain": rain,
}
