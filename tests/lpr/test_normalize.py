"""Plate formats (GA 36), repair of position confusions, and type from text and colour."""

from __future__ import annotations

import numpy as np
import pytest

from checkpoint.lpr.alphabet import ALPHABET, INDEX
from checkpoint.lpr.models import PlateColour, PlateType
from checkpoint.lpr.normalize import best_plate_text, is_valid_plate, normalize_plate, plate_type_of


@pytest.mark.parametrize(
    ("text", "plate_type"),
    [
        ("京A12345", PlateType.STANDARD),
        ("粤BD12345", PlateType.NEW_ENERGY),
        ("粤BFA1234", PlateType.NEW_ENERGY),
        ("粤B12345D", PlateType.NEW_ENERGY),
        ("苏A1234警", PlateType.POLICE),
        ("苏A1234应急", PlateType.EMERGENCY),
        ("浙A1234学", PlateType.COACH),
        ("鲁B1234挂", PlateType.TRAILER),
        ("粤Z1234港", PlateType.HONG_KONG),
        ("粤Z1234澳", PlateType.MACAU),
        ("使123456", PlateType.EMBASSY),
        ("沪A1234领", PlateType.CONSULATE),
    ],
)
def test_plate_types_follow_the_formats(text: str, plate_type: PlateType) -> None:
    assert is_valid_plate(text)
    assert plate_type_of(text) is plate_type


@pytest.mark.parametrize(
    "text", ["2026-11-25", "12:30:05", "STOP", "A京12345", "京112345", "京AO2345", "京AI2345", "京A1234", "粤BD123"]
)
def test_text_that_is_no_plate_is_rejected(text: str) -> None:
    assert not is_valid_plate(text)
    assert plate_type_of(text) is PlateType.UNKNOWN


def test_yellow_seven_character_plate_is_a_large_vehicle() -> None:
    assert plate_type_of("鲁B12345", PlateColour.YELLOW) is PlateType.LARGE
    assert plate_type_of("鲁B12345", PlateColour.BLUE) is PlateType.STANDARD


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("京a·12345", "京A12345"),
        ("京 A 1234O", "京A12340"),  # no O on plates: it is a zero
        ("京AI2345", "京A12345"),
        ("京012345", "京D12345"),  # second place is a letter
        ("京８A１２３４", "京BA1234"),  # full-width folded, then 8 in second place read as B
        ("粤BD1234Q", "粤BD12340"),  # small new-energy plate ends in digits
    ],
)
def test_normalize_plate(typed: str, canonical: str) -> None:
    assert normalize_plate(typed) == canonical


def _distribution(char: str, probability: float = 0.9, runner_up: str | None = None) -> np.ndarray:
    probs = np.full(len(ALPHABET), (1.0 - probability) / len(ALPHABET), dtype=np.float32)
    probs[INDEX[char]] = probability
    if runner_up:
        probs[INDEX[runner_up]] = (1.0 - probability) * 0.8
    return probs


def test_position_rules_pick_the_likeliest_allowed_character() -> None:
    # read "京0B2345": a zero where only a letter may stand, with D as the runner-up
    distributions = (
        [_distribution(c) for c in "京"] + [_distribution("0", runner_up="D")] + [_distribution(c) for c in "B2345"]
    )
    choice = best_plate_text(distributions)
    assert choice is not None
    assert choice.text == "京DB2345"
    assert choice.plate_type is PlateType.STANDARD


def test_first_place_must_be_a_province() -> None:
    distributions = [_distribution("1", runner_up="皖")] + [_distribution(c) for c in "A12345"]
    choice = best_plate_text(distributions)
    assert choice is not None and choice.text == "皖A12345"


def test_new_energy_layout_wins_for_eight_characters() -> None:
    choice = best_plate_text([_distribution(c) for c in "粤BD12345"])
    assert choice is not None
    assert (choice.text, choice.plate_type) == ("粤BD12345", PlateType.NEW_ENERGY)


def test_no_layout_for_a_wrong_length() -> None:
    assert best_plate_text([_distribution(c) for c in "12345"]) is None
