"""Settings of the plate reader; the core settings embed them as `lpr`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LprSettings(BaseModel):
    """Engine choice and thresholds; the defaults are the ones measured in docs/BENCHMARKS.md."""

    engine: Literal["onnx"] = "onnx"
    intra_op_threads: int = Field(
        default=1, ge=1, description="ONNX Runtime threads per session (1: one worker per core)"
    )
    detect_threshold: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="minimum plate detection score (0.5 until 2026-11-26: tilted plates scored 0.1-0.4 on every frame)",
    )
    min_confidence: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="reads below this plate confidence (weakest character x detection score) are dropped",
    )
    use_paddle: bool = Field(
        default=True, description="fuse PP-OCRv6 with the plate recogniser (slower, more accurate)"
    )
    paddle_when: Literal["always", "uncertain"] = Field(
        default="uncertain",
        description="uncertain: PP-OCRv6 only where the plate recogniser is unsure of a character or reads no plate",
    )
    sure_char_confidence: float = Field(
        default=0.95, ge=0.0, le=1.0, description="plate-recogniser confidence that skips PP-OCRv6"
    )
    detect_scale: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="shrink frames for detection; only where plates are >= 80 px / scale wide",
    )
    coarse_scale: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="find candidates on the frame shrunk by this much, then locate them at full resolution (1: off)",
    )
    coarse_threshold: float = Field(
        default=0.005,
        ge=0.0,
        le=1.0,
        description="detection score that makes a small coarse candidate worth a second look",
    )
    max_side_px: int = Field(default=2560, ge=64, description="larger inputs are shrunk to this side before detection")
    max_pixels: int = Field(default=60_000_000, description="larger inputs are refused as not a camera frame")
    keep_crop: bool = Field(default=True, description="attach the rectified plate image to each read")
