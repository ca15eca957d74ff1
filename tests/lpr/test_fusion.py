"""Fusion of two recognisers per character, and of several reads of one vehicle."""

from __future__ import annotations

import numpy as np

from checkpoint.lpr.alphabet import ALPHABET, INDEX
from checkpoint.lpr.fusion import fuse_reads, fuse_recognisers
from checkpoint.lpr.models import PlateColour, PlateRead, PlateType
from checkpoint.lpr.ocr import CharGuess

CORNERS = ((0.0, 0.0), (100.0, 0.0), (100.0, 30.0), (0.0, 30.0))


def _guesses(text: str, confidences: list[float] | None = None) -> list[CharGuess]:
    guesses = []
    for index, char in enumerate(text):
        confidence = confidences[index] if confidences else 0.95
        probs = np.full(len(ALPHABET), (1 - confidence) / len(ALPHABET), dtype=np.float32)
        probs[INDEX[char]] = confidence
        guesses.append(CharGuess(probs=probs, position=(index + 0.5) / len(text)))
    return guesses


def _read(text: str, confidence: float, colour: PlateColour = PlateColour.BLUE) -> PlateRead:
    return PlateRead(text, colour, PlateType.STANDARD, confidence, (confidence,) * len(text), CORNERS)


def test_the_surer_recogniser_wins_each_character() -> None:
    plate = _guesses("皖A12305", [0.9, 0.99, 0.99, 0.99, 0.99, 0.5, 0.99])
    paddle = _guesses("豫A123D5", [0.95, 0.99, 0.99, 0.99, 0.99, 0.95, 0.99])
    choice = fuse_recognisers(plate, paddle)
    assert choice is not None
    assert choice.text == "豫A123D5"


def test_a_character_one_recogniser_missed_is_kept() -> None:
    plate = _guesses("皖A12345")
    paddle = _guesses("A12345")  # PP-OCR often drops the province character
    choice = fuse_recognisers(plate, paddle)
    assert choice is not None and choice.text == "皖A12345"


def test_fuse_reads_votes_per_character_by_confidence() -> None:
    reads = [_read("京A12345", 0.9), _read("京A12845", 0.6), _read("京A12345", 0.8), _read("京A1234", 0.95)]
    fused = fuse_reads(reads)
    assert fused is not None
    assert fused.text == "京A12345"
    assert fused.plate_type is PlateType.STANDARD
    assert len(fused.char_confidences) == 7
    assert fused.char_confidences[4] < fused.char_confidences[0]


def test_fuse_reads_drops_shifted_reads_and_votes_again() -> None:
    """Two reads that lost the 2 and gained a V at the end (皖ZU448V) differ from the first vote
    in three characters: without them the four aligned reads win against three Z/U misreads."""
    reads = [_read("皖A2U448", 0.6)] * 4 + [_read("皖ZUU448", 0.6)] * 3 + [_read("皖ZU448V", 0.6)] * 2
    fused = fuse_reads(reads)
    assert fused is not None and fused.text == "皖A2U448"


def test_fuse_reads_takes_the_colour_vote() -> None:
    fused = fuse_reads([_read("鲁B12345", 0.9, PlateColour.YELLOW), _read("鲁B12345", 0.5, PlateColour.GREEN)])
    assert fused is not None
    assert fused.colour is PlateColour.YELLOW
    assert fused.plate_type is PlateType.LARGE


def test_fuse_reads_of_nothing_is_none() -> None:
    assert fuse_reads([]) is None
    single = _read("京A12345", 0.7)
    assert fuse_reads([single]) == single


def test_fuse_reads_takes_the_vehicle_colour_vote() -> None:
    from dataclasses import replace

    reads = [
        replace(_read("鲁B12345", 0.9), vehicle_colour="white"),
        replace(_read("鲁B12345", 0.5), vehicle_colour="silver"),
        replace(_read("鲁B12345", 0.6), vehicle_colour="white"),
        _read("鲁B12345", 0.95),
    ]
    fused = fuse_reads(reads)
    assert fused is not None and fused.vehicle_colour == "white"
    assert fuse_reads([_read("鲁B12345", 0.9), _read("鲁B12345", 0.8)]).vehicle_colour is None  # type: ignore[union-attr]
