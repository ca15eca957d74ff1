"""Plate text rules (GA 36): formats per plate type, repair of known confusions, normalisation.

`normalize_plate` is what downstream domains compare plates with; `best_plate_text` picks,
from per-character distributions, the most probable text that a real plate can carry.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from checkpoint.lpr.alphabet import (
    ALPHABET,
    ARMED_POLICE_BRANCH,
    CIVIL_AVIATION,
    CONFUSED_DIGIT_FOR_LETTER,
    CONFUSED_LETTER_FOR_DIGIT,
    DIGITS,
    EMBASSY,
    INDEX,
    LETTERS,
    LOOKALIKES,
    MILITARY_FIRST,
    PROVINCES,
)
from checkpoint.lpr.models import PlateColour, PlateType

FloatArray = npt.NDArray[np.float32]

_ALNUM = DIGITS + LETTERS
_P, _L, _A, _D = f"[{PROVINCES}]", f"[{LETTERS}]", f"[{_ALNUM}]", "[0-9]"

PLATE_FORMATS: dict[PlateType, re.Pattern[str]] = {
    PlateType.STANDARD: re.compile(f"{_P}{_L}{_A}{{5}}|粤O{_A}{{5}}"),
    PlateType.NEW_ENERGY: re.compile(f"{_P}{_L}(?:[DF]{_A}{_D}{{4}}|{_D}{{5}}[DF])"),
    PlateType.POLICE: re.compile(f"{_P}{_L}{_A}{{4}}警"),
    PlateType.EMERGENCY: re.compile(f"{_P}{_L}{_A}{{4}}应急"),
    PlateType.COACH: re.compile(f"{_P}{_L}{_A}{{4}}学"),
    PlateType.TRAILER: re.compile(f"{_P}{_L}{_A}{{4}}挂"),
    PlateType.HONG_KONG: re.compile(f"粤Z{_A}{{4}}港"),
    PlateType.MACAU: re.compile(f"粤Z{_A}{{4}}澳"),
    PlateType.CONSULATE: re.compile(f"{_P}{_L}{_A}{{4}}领"),
    PlateType.EMBASSY: re.compile(f"{EMBASSY}{_D}{{6}}|{_D}{{6}}{EMBASSY}"),
    PlateType.MILITARY: re.compile(f"[{MILITARY_FIRST}]{_L}{_D}{{5}}"),
    PlateType.ARMED_POLICE: re.compile(f"WJ{_P}{_D}{{4}}[{ARMED_POLICE_BRANCH}]"),
    PlateType.CIVIL_AVIATION: re.compile(f"{CIVIL_AVIATION}{_A}{{5}}"),
}


@dataclass(frozen=True, slots=True)
class Template:
    """Allowed characters per position for one plate layout."""

    plate_type: PlateType
    positions: tuple[str, ...]
    letter_o_at: int | None = None  # where this layout's 0 is the letter O (粤O: GA 36 has no O elsewhere)


TEMPLATES: tuple[Template, ...] = (
    Template(PlateType.STANDARD, (PROVINCES, LETTERS) + (_ALNUM,) * 5),
    Template(PlateType.POLICE, (PROVINCES, LETTERS) + (_ALNUM,) * 4 + ("警",)),
    Template(PlateType.COACH, (PROVINCES, LETTERS) + (_ALNUM,) * 4 + ("学",)),
    Template(PlateType.TRAILER, (PROVINCES, LETTERS) + (_ALNUM,) * 4 + ("挂",)),
    Template(PlateType.HONG_KONG, ("粤", "Z") + (_ALNUM,) * 4 + ("港",)),
    Template(PlateType.MACAU, ("粤", "Z") + (_ALNUM,) * 4 + ("澳",)),
    Template(PlateType.CONSULATE, (PROVINCES, LETTERS) + (_ALNUM,) * 4 + ("领",)),
    Template(PlateType.EMBASSY, (EMBASSY,) + (DIGITS,) * 6),
    Template(PlateType.NEW_ENERGY, (PROVINCES, LETTERS, "DF", _ALNUM) + (DIGITS,) * 4),
    Template(PlateType.NEW_ENERGY, (PROVINCES, LETTERS) + (DIGITS,) * 5 + ("DF",)),
    Template(PlateType.EMERGENCY, (PROVINCES, LETTERS) + (_ALNUM,) * 4 + ("应", "急")),
    Template(PlateType.STANDARD, ("粤", "0") + (_ALNUM,) * 5, letter_o_at=1),
    Template(PlateType.EMBASSY, (DIGITS,) * 6 + (EMBASSY,)),
    Template(PlateType.MILITARY, (MILITARY_FIRST, LETTERS) + (DIGITS,) * 5),
    Template(PlateType.ARMED_POLICE, ("W", "J", PROVINCES) + (DIGITS,) * 4 + (ARMED_POLICE_BRANCH,)),
    Template(PlateType.CIVIL_AVIATION, ("民", "航") + (_ALNUM,) * 5),
)


def _mask(allowed: str) -> FloatArray:
    mask = np.zeros(len(ALPHABET), dtype=np.float32)
    mask[[INDEX[char] for char in allowed]] = 1.0
    return mask


_MASKS: dict[str, FloatArray] = {allowed: _mask(allowed) for template in TEMPLATES for allowed in template.positions}


def position_masks(template: Template) -> npt.NDArray[np.bool_]:
    """Per position of the template, which ALPHABET characters it allows (positions x characters)."""
    return np.stack([_MASKS[allowed] > 0 for allowed in template.positions])


@dataclass(frozen=True, slots=True)
class PlateChoice:
    """The text chosen from distributions, with the probability of each of its characters."""

    text: str
    plate_type: PlateType
    char_confidences: tuple[float, ...]


def best_plate_text(
    distributions: list[FloatArray],
    *,
    min_char_probability: float = 1e-4,
    excluded: frozenset[PlateType] = frozenset(),
) -> PlateChoice | None:
    """The most probable text that fits a plate layout, or None when no layout fits.

    A template scores the product of its per-position best allowed probability, so a 0 read
    where only a letter may stand becomes the likeliest letter (D, Q, U ...) instead.
    """
    best: tuple[float, PlateChoice] | None = None
    for template in TEMPLATES:
        if len(template.positions) != len(distributions) or template.plate_type in excluded:
            continue
        chars: list[str] = []
        confidences: list[float] = []
        log_score = 0.0
        for allowed, probs in zip(template.positions, distributions, strict=True):
            masked = probs * _MASKS[allowed]
            index = int(np.argmax(masked))
            probability = float(masked[index])
            if probability < min_char_probability:
                break
            chars.append(ALPHABET[index])
            confidences.append(probability / max(float(masked.sum()), 1e-9))
            log_score += float(np.log(probability))
        else:
            if template.letter_o_at is not None:
                chars[template.letter_o_at] = "O"
            choice = PlateChoice("".join(chars), template.plate_type, tuple(confidences))
            if best is None or log_score > best[0]:
                best = (log_score, choice)
    return None if best is None else best[1]


WHITE_ONLY = frozenset({PlateType.MILITARY, PlateType.ARMED_POLICE})
"""Layouts only a white plate carries: a blue, yellow or green plate read letter-first lost its province."""


def excluded_types(colour: PlateColour) -> frozenset[PlateType]:
    """Layouts the plate's colour rules out: a blue, yellow or green plate is never military or WJ.

    Black and unknown rule nothing out: a dim or backlit white plate is often classed black.
    """
    if colour in (PlateColour.BLUE, PlateColour.YELLOW, PlateColour.GREEN):
        return WHITE_ONLY
    return frozenset()


def plate_type_of(text: str, colour: PlateColour = PlateColour.UNKNOWN) -> PlateType:
    """Plate type from its text (formats) and colour (blue small car, yellow large vehicle)."""
    for plate_type, pattern in PLATE_FORMATS.items():
        if plate_type is not PlateType.STANDARD and pattern.fullmatch(text):
            return plate_type
    if PLATE_FORMATS[PlateType.STANDARD].fullmatch(text):
        return PlateType.LARGE if colour is PlateColour.YELLOW else PlateType.STANDARD
    return PlateType.UNKNOWN


def is_valid_plate(text: str) -> bool:
    """Whether the text is a plate of some GA 36 type."""
    return any(pattern.fullmatch(text) for pattern in PLATE_FORMATS.values())


def normalize_plate(text: str) -> str:
    """Canonical form of a typed or read plate, for comparing and storing.

    Drops separators and spaces, folds full-width and lower-case letters, and repairs the
    position confusions GA 36 rules out: no O or I anywhere, a letter second, digits where
    the format needs digits. Text that is no plate comes back cleaned but otherwise as given.
    """
    folded = unicodedata.normalize("NFKC", text).upper()
    chars = [LOOKALIKES.get(char, char) for char in folded if char.isalnum()]
    if len(chars) > 2 and chars[0] == "粤" and chars[1] == "0":
        chars[1] = "O"  # 粤O: the one series GA 36 spells with an O (a digit never stands second)
    cleaned = "".join(chars)
    if is_valid_plate(cleaned) or len(cleaned) < 2:
        return cleaned
    repaired = list(cleaned)
    if repaired[1] in CONFUSED_LETTER_FOR_DIGIT:
        repaired[1] = CONFUSED_LETTER_FOR_DIGIT[repaired[1]]
    candidate = "".join(repaired)
    if is_valid_plate(candidate):
        return candidate
    if len(candidate) == 8 and candidate[2] not in "DF":  # large new-energy: five digits then D/F
        digits = [CONFUSED_DIGIT_FOR_LETTER.get(char, char) for char in candidate[2:7]]
        large = candidate[:2] + "".join(digits) + candidate[7]
        if is_valid_plate(large):
            return large
    if len(candidate) == 8 and candidate[2] in "DF":
        digits = [CONFUSED_DIGIT_FOR_LETTER.get(char, char) for char in candidate[4:]]
        small = candidate[:4] + "".join(digits)
        if is_valid_plate(small):
            return small
    return candidate
