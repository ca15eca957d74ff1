"""Hard variants of evaluation images (rotation, blur, low light, JPEG 30, small scale).

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


VARIANTS: dict[str, Variant] = {
    "rotate10": rotate,
    "blur": blur,
    "low_light": low_light,
    "jpeg30": jpeg_30,
    "small50": small,
}
