"""A self-contained HTML page of the evaluation's mistakes, for a person to look through."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Mistake:
    """One labelled plate read wrongly or not at all."""

    file: str
    expected: str
    read: str
    confidence: float
    crop: npt.NDArray[np.uint8] | None


def _inline_png(image: npt.NDArray[np.uint8] | None) -> str:
    if image is None:
        return ""
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        return ""
    return f'<img src="data:image/png;base64,{base64.b64encode(encoded.tobytes()).decode()}">'


def write_report(path: Path, title: str, summary: dict[str, object], mistakes: list[Mistake]) -> None:
    """Write the HTML page: the figures, then one row per mistake with the rectified crop."""
    rows = "\n".join(
        f"<tr><td>{html.escape(m.file)}</td><td>{html.escape(m.expected)}</td>"
        f"<td>{html.escape(m.read) or '<i>none</i>'}</td>"
        f"<td>{m.confidence:.2f}</td><td>{_inline_png(m.crop)}</td></tr>"
        for m in mistakes
    )
    figures = "".join(f"<li>{html.escape(str(key))}: {html.escape(str(value))}</li>" for key, value in summary.items())
    page = (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}td{padding:4px 8px;border-bottom:1px solid #ddd}img{height:48px}</style>"
        f"<h1>{html.escape(title)}</h1><ul>{figures}</ul>"
        f"<table><tr><th>file</th><th>expected</th><th>read</th><th>confidence</th><th>crop</th></tr>{rows}</table>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
