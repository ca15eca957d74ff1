"""The ONNX Runtime plate engine: detect corners, rectify, read with two recognisers, fuse."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from checkpoint.core.settings_groups import LprSettings
from checkpoint.lpr.alphabet import DIGITS, LETTERS, PROVINCES
from checkpoint.lpr.colour import plate_colour
from checkpoint.lpr.decode import forced_guesses, forced_row_guesses, row_layout
from checkpoint.lpr.detect import (
    PlateDetector,
    merge_detections,
    rotated_detections,
    scale_detection,
    shift_detection,
)
from checkpoint.lpr.errors import ImageError
from checkpoint.lpr.fusion import fuse_recognisers
from checkpoint.lpr.images import to_bgr
from checkpoint.lpr.models import Corners, Detection, PlateColour, PlateRead, PlateType
from checkpoint.lpr.normalize import PlateChoice, excluded_types, plate_type_of
from checkpoint.lpr.ocr import CharGuess, CtcRecogniser, Reading, paddle_characters, plate_characters
from checkpoint.lpr.priors import province_prior, reweigh
from checkpoint.lpr.rectify import plate_width_px, row_layouts, split_rows, warp_plate
from checkpoint.lpr.resources import (
    PADDLE_RECOGNISER,
    PLATE_DETECTOR,
    PLATE_DICTIONARY,
    PLATE_RECOGNISER,
    open_session,
    package_file,
)
from checkpoint.lpr.vehicle_colour import vehicle_colour_near

Image = npt.NDArray[np.uint8]
Roi = tuple[int, int, int, int]

PLATE_INPUT = (160, 32)  # plate recogniser: stretched plate, 32 px high
PLATE_MARGIN = (0.08, 0.08)
PADDLE_INPUT = (192, 48)
PADDLE_MARGIN = (0.06, 0.12)
COLOUR_INPUT = (160, 50)
DOUBLE_ROW_INPUT = (330, 165)
MIN_PLATE_WIDTH_PX = 16
MIN_COARSE_SIDE_PX = 320  # below this a coarse pass saves too little to be worth a second one
SURE_LAYOUT_CONFIDENCE = 0.8  # a read this sure of every character is not tried in the other row layout
Margins = tuple[tuple[float, float], tuple[float, float]]  # (x, y) around the plate: plate CRNN, PP-OCR
CORNER_MARGINS: Margins = (PLATE_MARGIN, PADDLE_MARGIN)
LENGTHS_BY_COLOUR = {PlateColour.BLUE: frozenset({7})}  # GA 36: blue plates are 7 characters; green ones 8
TOP_ROW = row_layout(PROVINCES, LETTERS)  # a double-row plate: province and letter above,
BOTTOM_ROW = row_layout(*(DIGITS + LETTERS,) * 4, DIGITS + LETTERS + "挂学警")  # five below (the last may be 挂)
CROP_MARGINS: Margins = ((0.12, 0.0), (0.06, 0.0))  # a tight crop's own border does for the height


class OnnxPlateEngine:
    """Detection and recognition on CPU; one instance (three sessions) per process."""

    def __init__(self, settings: LprSettings) -> None:
        self.settings = settings
        threads = settings.intra_op_threads
        self.detector = PlateDetector(open_session(PLATE_DETECTOR, threads), threshold=settings.detect_threshold)
        dictionary = package_file(*PLATE_DICTIONARY).read_text(encoding="utf-8")
        self.plate_recogniser = CtcRecogniser(
            open_session(PLATE_RECOGNISER, threads), plate_characters(dictionary), height=32, width=PLATE_INPUT[0]
        )
        local = settings.local_province or None
        self.plate_prior = province_prior(settings.plate_wan_bias, local, settings.local_province_weight)
        self.paddle_prior = province_prior(1.0, local, settings.local_province_weight)
        self.paddle_recogniser: CtcRecogniser | None = None
        if settings.use_paddle:
            paddle_session = open_session(PADDLE_RECOGNISER, threads)
            self.paddle_recogniser = CtcRecogniser(
                paddle_session, paddle_characters(paddle_session), height=48, width=PADDLE_INPUT[0]
            )

    def read(self, image_bgr: npt.NDArray[np.uint8], roi: Roi | None = None) -> list[PlateRead]:
        """Plates in the frame (or in `roi`, x1, y1, x2, y2), corners in frame pixels, best first."""
        frame = to_bgr(image_bgr, max_pixels=self.settings.max_pixels)
        reads: list[PlateRead] = []
        for detection in self.detect(frame, roi):
            read = self.read_corners(frame, detection.corners, detection.score)
            if read is not None:
                body = vehicle_colour_near(frame, read.corners)
                reads.append(replace(read, vehicle_colour=body.word) if body else read)
        return reads

    def detect(self, image_bgr: npt.NDArray[np.uint8], roi: Roi | None = None) -> list[Detection]:
        """Plate corners in the frame (or in `roi`), in frame pixels, best first."""
        frame = to_bgr(image_bgr, max_pixels=self.settings.max_pixels)
        offset_x, offset_y = 0.0, 0.0
        if roi is not None:
            x1, y1, x2, y2 = (int(v) for v in roi)
            x1, y1 = max(0, x1), max(0, y1)
            x2, y2 = min(frame.shape[1], x2), min(frame.shape[0], y2)
            if x2 - x1 < 8 or y2 - y1 < 8:
                raise ImageError(f"region of interest {roi} is empty inside a {frame.shape[1]}x{frame.shape[0]} image")
            frame, offset_x, offset_y = frame[y1:y2, x1:x2], x1, y1
        longest = max(frame.shape[:2])
        shrink = min(1.0, self.settings.max_side_px / longest)
        if shrink < 1.0:  # larger frames are searched shrunk, so detection memory stays that of max_side_px
            frame = cv2.resize(frame, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)  # type: ignore[assignment]
        detections = self._detect_frame(frame)
        tilt = self.settings.tilt_search_deg
        if tilt > 0:
            for degrees in (tilt, -tilt):
                detections += rotated_detections(self._detect_frame, frame, degrees)
            detections = merge_detections(detections, self.detector.iou_threshold)
        return [
            shift_detection(scale_detection(detection, 1.0 / shrink), offset_x, offset_y)
            for detection in detections
            if plate_width_px(detection.corners) >= MIN_PLATE_WIDTH_PX
        ]

    def _detect_frame(self, frame: Image) -> list[Detection]:
        """Detection on one frame: coarse to fine where the frame is large enough, else in one pass."""
        longest = max(frame.shape[:2])
        scale = self.settings.detect_scale
        coarse_scale = self.settings.coarse_scale
        if scale == 1.0 and coarse_scale < 1.0 and coarse_scale * longest >= MIN_COARSE_SIDE_PX:
            return self.detector.detect_coarse_to_fine(
                frame, coarse_scale=coarse_scale, coarse_threshold=self.settings.coarse_threshold
            )
        return self.detector.detect(frame, scale=scale)

    def read_plate_image(self, plate_bgr: npt.NDArray[np.uint8]) -> PlateRead | None:
        """Read an image that is already a tight plate crop (no detection)."""
        plate = to_bgr(plate_bgr, max_pixels=self.settings.max_pixels)
        height, width = plate.shape[:2]
        corners: Corners = ((0.0, 0.0), (width - 1.0, 0.0), (width - 1.0, height - 1.0), (0.0, height - 1.0))
        return self._read(plate, corners, 1.0, CROP_MARGINS)

    def read_corners(
        self, frame: Image, corners: Corners, detection_score: float, *, margin_scale: float = 1.0
    ) -> PlateRead | None:
        """Read the plate with these corners; None when the text is no plate or too uncertain."""
        (plate_x, plate_y), (paddle_x, paddle_y) = CORNER_MARGINS
        margins = ((plate_x * margin_scale, plate_y * margin_scale), (paddle_x * margin_scale, paddle_y * margin_scale))
        return self._read(frame, corners, detection_score, margins)

    def _read(self, frame: Image, corners: Corners, detection_score: float, margins: Margins) -> PlateRead | None:
        """Read in the likelier row layout first, the other too when the shape leaves it open."""
        colour = plate_colour(warp_plate(frame, corners, COLOUR_INPUT))
        lengths = LENGTHS_BY_COLOUR.get(colour)
        excluded = excluded_types(colour)
        best: tuple[bool, PlateChoice] | None = None
        for double_row in row_layouts(corners):
            if double_row:
                choice = fuse_recognisers(*self._read_double_row(frame, corners), excluded=excluded)
            else:
                choice = self._read_single_row(frame, corners, margins, lengths, excluded)
            if choice is not None and (best is None or min(choice.char_confidences) > min(best[1].char_confidences)):
                best = (double_row, choice)
            if best is not None and min(best[1].char_confidences) >= SURE_LAYOUT_CONFIDENCE:
                break  # the likelier layout read well: the other costs as much again
        if best is None:
            return None
        double_row, choice = best
        confidence = min(choice.char_confidences) * detection_score
        if confidence < self.settings.min_confidence:
            return None
        crop = (
            warp_plate(
                frame, corners, (PLATE_INPUT[0] * 2, PLATE_INPUT[1] * 2 * (2 if double_row else 1)), PLATE_MARGIN
            )
            if self.settings.keep_crop
            else None
        )
        return PlateRead(
            text=choice.text,
            colour=colour,
            plate_type=plate_type_of(choice.text, colour),
            confidence=confidence,
            char_confidences=choice.char_confidences,
            corners=corners,
            detection_score=detection_score,
            double_row=double_row,
            crop=crop,
        )

    def _read_single_row(
        self,
        frame: Image,
        corners: Corners,
        margins: Margins,
        lengths: frozenset[int] | None = None,
        excluded: frozenset[PlateType] = frozenset(),
    ) -> PlateChoice | None:
        """Fused text of one row; decoding held to the plate layouts (of `lengths` characters, when
        the colour says) where a character went missing or one too many was read."""
        plate_margin, paddle_margin = margins
        plate = self.plate_recogniser.reading(warp_plate(frame, corners, PLATE_INPUT, plate_margin))
        plate_guesses = reweigh(plate.guesses, self.plate_prior)
        paddle: Reading | None = None
        if self.paddle_recogniser is not None and not self._plate_recogniser_is_sure(plate_guesses):
            paddle = self.paddle_recogniser.reading(warp_plate(frame, corners, PADDLE_INPUT, paddle_margin))
        paddle_guesses = reweigh(paddle.guesses, self.paddle_prior) if paddle else None
        choice = fuse_recognisers(plate_guesses, paddle_guesses, excluded=excluded)
        if choice is None or (lengths is not None and len(choice.text) not in lengths):
            forced = fuse_recognisers(
                reweigh(forced_guesses(plate, lengths), self.plate_prior),
                reweigh(forced_guesses(paddle, lengths), self.paddle_prior) if paddle else None,
                excluded=excluded,
            )
            choice = forced or choice
        return choice

    def _plate_recogniser_is_sure(self, guesses: list[CharGuess]) -> bool:
        """Whether PP-OCRv6 can be skipped: allowed by settings, and every character of a valid plate sure.

        The plate CRNN leans to 皖, so PP-OCRv6 used to run on every 皖 read too; skipping it for
        sure reads left exact accuracy on both CCPD tune splits unchanged, at half the cost.
        """
        if self.settings.paddle_when == "always" or not guesses:
            return False
        choice = fuse_recognisers(guesses, None)
        if choice is None:
            return False
        return min(choice.char_confidences) >= self.settings.sure_char_confidence

    def _read_double_row(self, frame: Image, corners: Corners) -> tuple[list[CharGuess], list[CharGuess] | None]:
        """Read the two rows separately and join them, top row first."""
        top, bottom = split_rows(warp_plate(frame, corners, DOUBLE_ROW_INPUT, (0.03, 0.03)))
        recognisers = [self.plate_recogniser] + ([self.paddle_recogniser] if self.paddle_recogniser else [])
        joined: list[list[CharGuess]] = []
        for recogniser in recognisers:
            top_guesses = forced_row_guesses(recogniser.reading(top), TOP_ROW)
            bottom_guesses = forced_row_guesses(recogniser.reading(bottom), BOTTOM_ROW)
            halves = [CharGuess(g.probs, g.position * 0.3) for g in top_guesses] + [
                CharGuess(g.probs, 0.3 + g.position * 0.7) for g in bottom_guesses
            ]
            joined.append(halves)
        plate_halves = reweigh(joined[0], self.plate_prior)
        return plate_halves, (reweigh(joined[1], self.paddle_prior) if len(joined) > 1 else None)
