"""Synthetic GA 36 plates drawn from a system CJK font: every province, every plate type.

Real photos of most provinces and of the special types are scarce, and the dev sets are
almost all 皖, so accuracy per province and per type is measured on plates drawn here. The
glyphs are a system font's (Noto Sans CJK for Chinese, DejaVu Sans Bold for letters and
digits) stretched into GA 36's character cells, not the plate font itself: figures on these
plates are labelled synthetic wherever they are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PilImage
from PIL import ImageDraw, ImageFont

from checkpoint.lpr.alphabet import DIGITS, LETTERS, MILITARY_FIRST, PROVINCES
from checkpoint.lpr.models import PlateType

Image = npt.NDArray[np.uint8]
Rgb = tuple[int, int, int]

CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
)
LATIN_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
RED: Rgb = (200, 20, 20)
ALNUM = DIGITS + LETTERS


class FontMissing(RuntimeError):
    """No usable CJK or Latin font on this machine (install fonts-noto-cjk, fonts-dejavu)."""


@dataclass(frozen=True, slots=True)
class PlateKind:
    """One GA 36 plate kind: how it looks and how its text is made."""

    name: str
    plate_type: PlateType
    background: Rgb
    ink: Rgb
    pattern: tuple[str, ...]  # per character: the set it is drawn from ("P" = the province)
    double_row: bool = False
    red_positions: frozenset[int] = frozenset()
    gradient_to: Rgb | None = None  # new-energy plates fade towards white at the top
    has_province: bool = True


_BLUE, _YELLOW, _WHITE, _BLACK = (10, 70, 180), (245, 190, 10), (240, 240, 240), (15, 15, 15)
_STD = ("P", LETTERS) + (ALNUM,) * 5
_SPECIAL = ("P", LETTERS) + (ALNUM,) * 4

KINDS: tuple[PlateKind, ...] = (
    PlateKind("blue", PlateType.STANDARD, _BLUE, _WHITE, _STD),
    PlateKind("yellow", PlateType.LARGE, _YELLOW, _BLACK, _STD),
    PlateKind("yellow_double", PlateType.LARGE, _YELLOW, _BLACK, _STD, double_row=True),
    PlateKind("trailer", PlateType.TRAILER, _YELLOW, _BLACK, _SPECIAL + ("挂",), double_row=True),
    PlateKind("coach", PlateType.COACH, _YELLOW, _BLACK, _SPECIAL + ("学",)),
    PlateKind("police", PlateType.POLICE, _WHITE, _BLACK, _SPECIAL + ("警",), red_positions=frozenset({6})),
    PlateKind("emergency", PlateType.EMERGENCY, _WHITE, _BLACK, _SPECIAL + ("应", "急"),
              red_positions=frozenset({6, 7})),
    PlateKind("new_energy_small", PlateType.NEW_ENERGY, (60, 190, 110), _BLACK,
              ("P", LETTERS, "DF", ALNUM) + (DIGITS,) * 4, gradient_to=(235, 250, 240)),
    PlateKind("new_energy_large", PlateType.NEW_ENERGY, (60, 190, 110), _BLACK,
              ("P", LETTERS) + (DIGITS,) * 5 + ("DF",), gradient_to=(245, 200, 20)),
    PlateKind("hong_kong", PlateType.HONG_KONG, _BLACK, _WHITE, ("粤", "Z") + (ALNUM,) * 4 + ("港",),
              has_province=False),
    PlateKind("macau", PlateType.MACAU, _BLACK, _WHITE, ("粤", "Z") + (ALNUM,) * 4 + ("澳",), has_province=False),
    PlateKind("consulate", PlateType.CONSULATE, _BLACK, _WHITE, _SPECIAL + ("领",), red_positions=frozenset({6})),
    PlateKind("embassy", PlateType.EMBASSY, _BLACK, _WHITE, ("使",) + (DIGITS,) * 6,
              red_positions=frozenset({0}), has_province=False),
    PlateKind("military", PlateType.MILITARY, _WHITE, _BLACK, (MILITARY_FIRST, LETTERS) +
              (DIGITS,) * 5, red_positions=frozenset({0}), has_province=False),
    PlateKind("armed_police", PlateType.ARMED_POLICE, _WHITE, _BLACK, ("W", "J", "P") + (DIGITS,) * 4 +
              ("0123456789XBTSHJD",), red_positions=frozenset({0, 1})),
    PlateKind("civil_aviation", PlateType.CIVIL_AVIATION, (30, 120, 200), _WHITE, ("民", "航") + (ALNUM,) * 5,
              has_province=False),
)
KIND_BY_NAME = {kind.name: kind for kind in KINDS}


def plate_text(kind: PlateKind, province: str, rng: np.random.Generator) -> str:
    """A random text of this kind; `province` fills the province position ("P")."""
    return "".join(province if allowed == "P" else allowed[int(rng.integers(len(allowed)))] for allowed in kind.pattern)


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def fonts_available() -> bool:
    """Whether a CJK and a Latin font are installed (Debian: fonts-noto-cjk, fonts-dejavu-core)."""
    return any(Path(path).is_file() for path in CJK_FONTS) and any(Path(path).is_file() for path in LATIN_FONTS)


def _font_path(cjk: bool) -> str:
    for candidate in CJK_FONTS if cjk else LATIN_FONTS:
        if Path(candidate).is_file():
            return candidate
    raise FontMissing(f"none of {CJK_FONTS if cjk else LATIN_FONTS} is installed")


@cache
def _glyph(char: str) -> npt.NDArray[np.float32]:
    """The character's ink (0..1) cropped to its bounding box, drawn large."""
    font = _font(_font_path(not char.isascii()), 160)
    canvas = PilImage.new("L", (220, 220), 0)
    ImageDraw.Draw(canvas).text((20, 10), char, fill=255, font=font)
    ink: npt.NDArray[np.float32] = np.asarray(canvas, dtype=np.float32) / 255.0
    if not char.isascii():  # the regular-weight CJK font is thinner than plate characters
        ink = np.asarray(cv2.dilate(ink, np.ones((5, 5), np.uint8)), dtype=np.float32)
    ys, xs = np.nonzero(ink > 0.1)
    return ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _stamp(plate: npt.NDArray[np.float32], char: str, box: tuple[int, int, int, int], ink: Rgb) -> None:
    """Draw the glyph stretched into the cell (x, y, w, h), as plate characters are."""
    x, y, w, h = box
    glyph = _glyph(char)
    if char in "1":  # a 1 keeps its narrow shape inside the cell
        narrow = max(4, int(w * 0.4))
        x, w = x + (w - narrow) // 2, narrow
    alpha = cv2.resize(glyph, (w, h), interpolation=cv2.INTER_AREA)[..., None]
    region = plate[y : y + h, x : x + w]
    region[:] = region * (1 - alpha) + np.array(ink, dtype=np.float32) * alpha


def _cells(count: int, width: int, top: int, height: int, gap_after: int | None) -> list[tuple[int, int, int, int]]:
    """Equal cells across the width, with a wider gap (the dot) after `gap_after` characters."""
    margin, spacing, dot = width * 0.035, width * 0.022, width * 0.06 if gap_after else 0.0
    cell = (width - 2 * margin - spacing * (count - 1) - dot) / count
    boxes = []
    for index in range(count):
        left = margin + index * (cell + spacing) + (dot if gap_after is not None and index >= gap_after else 0.0)
        boxes.append((int(left), top, int(cell), height))
    return boxes


def render_plate(kind: PlateKind, text: str, *, width: int = 440) -> Image:
    """The clean plate (BGR): 440x140 single row, 440x220 double row, GA 36 proportions."""
    height = int(width * (0.5 if kind.double_row else 140 / 440))
    plate = np.empty((height, width, 3), dtype=np.float32)
    plate[:] = kind.background
    if kind.gradient_to is not None:
        fade = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None, None] ** 1.5
        plate[:] = plate * (1 - fade * 0.7) + np.array(kind.gradient_to, dtype=np.float32) * fade * 0.7
    border = max(2, width // 110)
    cv2.rectangle(plate, (border, border), (width - 1 - border, height - 1 - border), kind.ink, max(1, border // 2))
    if kind.double_row:
        top_cells = _cells(2, width // 2, int(height * 0.08), int(height * 0.3), None)
        top_cells = [(x + width // 4, y, w, h) for x, y, w, h in top_cells]
        bottom_cells = _cells(len(text) - 2, width, int(height * 0.44), int(height * 0.48), None)
        boxes = top_cells + bottom_cells
    else:
        boxes = _cells(len(text), width, int(height * 0.16), int(height * 0.68), 2)
    for index, (char, box) in enumerate(zip(text, boxes, strict=True)):
        _stamp(plate, char, box, RED if index in kind.red_positions else kind.ink)
    rgb = np.clip(plate, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(rgb[..., ::-1])


def degrade(plate_bgr: Image, rng: np.random.Generator, *, target_width: int | None = None) -> Image:
    """A camera's view of the plate: small, slightly tilted, blurred, noisy, unevenly lit, JPEG'd.

    The plate keeps a thin margin of car body around it, like the dev crops.
    """
    height, width = plate_bgr.shape[:2]
    target = target_width or int(rng.integers(100, 220))
    pad = int(width * 0.04)
    body = rng.integers(20, 120, size=3).astype(np.uint8)
    framed = cv2.copyMakeBorder(plate_bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=body.tolist())
    fh, fw = framed.shape[:2]
    shift = rng.uniform(-0.03, 0.03, size=(4, 2)) * np.array([fw, fh])
    source = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], dtype=np.float32)
    warp = cv2.getPerspectiveTransform(source, (source + shift).astype(np.float32))
    framed = cv2.warpPerspective(framed, warp, (fw, fh), borderMode=cv2.BORDER_REPLICATE)
    scale = target / fw
    small = cv2.resize(framed, (target, max(8, int(fh * scale))), interpolation=cv2.INTER_AREA)
    sigma = float(rng.uniform(0.0, 0.9))
    if sigma > 0.2:
        small = cv2.GaussianBlur(small, (0, 0), sigma)
    light = small.astype(np.float32) * rng.uniform(0.6, 1.15) + rng.uniform(-25, 25)
    light += rng.normal(0, rng.uniform(2, 8), size=light.shape)
    noisy = np.clip(light, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(45, 90))])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else noisy
    return np.asarray(decoded, dtype=np.uint8)


def provinces_for(kind: PlateKind) -> str:
    """Provinces a kind is drawn for: every one, or its fixed first character's."""
    return PROVINCES if kind.has_province else "-"
