"""Plate-constrained CTC decoding on hand-made frame probabilities."""

from __future__ import annotations

import numpy as np

from checkpoint.lpr.alphabet import ALPHABET, INDEX
from checkpoint.lpr.decode import forced_plate_read, project_frames
from checkpoint.lpr.ocr import text_of

FRAMES = 40


def frames_spelling(text: str, *, faint: str = "", frames_per_char: int = 1) -> np.ndarray:
    """Blank-dominated frames with each character peaking on its own frames; `faint` ones lose to the blank."""
    projected = np.full((FRAMES, 1 + len(ALPHABET)), 1e-4, dtype=np.float32)
    projected[:, 0] = 0.9
    for position, char in enumerate(text):
        for frame in range(2 + position * 4, 2 + position * 4 + frames_per_char):
            projected[frame, 0] = 0.6 if char in faint else 0.05
            projected[frame, 1 + INDEX[char]] = 0.35 if char in faint else 0.9
    return projected


def test_a_character_greedy_decoding_drops_is_recovered() -> None:
    read = forced_plate_read(frames_spelling("皖A12345", faint="A"))
    assert read is not None
    assert text_of(read.guesses) == "皖A12345"
    positions = [guess.position for guess in read.guesses]
    assert positions == sorted(positions)


def test_repeated_characters_need_their_own_frames() -> None:
    read = forced_plate_read(frames_spelling("粤L11223", frames_per_char=2))
    assert read is not None and text_of(read.guesses) == "粤L11223"


def test_eight_character_layouts_are_searched() -> None:
    read = forced_plate_read(frames_spelling("粤B12345D"))
    assert read is not None and text_of(read.guesses) == "粤B12345D"


def test_too_few_frames_give_nothing() -> None:
    assert forced_plate_read(np.zeros((1, 1 + len(ALPHABET)), dtype=np.float32)) is None
    assert forced_plate_read(frames_spelling("皖A12345")[:5]) is None


def test_network_classes_fold_onto_the_alphabet() -> None:
    # classes: blank, "O" (folds onto 0), "0", an unusable character (-1), a dropped one (-2)
    mapping = np.array([-2, INDEX["0"], INDEX["0"], -1, -2], dtype=np.int64)
    probs = np.array([[0.1, 0.3, 0.4, 0.1, 0.1]], dtype=np.float32)
    projected = project_frames(probs, mapping)
    assert projected.shape == (1, 1 + len(ALPHABET))
    assert np.isclose(projected[0, 0], 0.1) and np.isclose(projected[0, 1 + INDEX["0"]], 0.7)
    assert np.isclose(projected.sum(), 0.8)


def test_lengths_limit_the_layouts() -> None:
    """A blue plate is never 8 characters: one extra character read is decoded away."""
    frames = frames_spelling("皖A123456")
    assert text_of(forced_plate_read(frames).guesses) == "皖A123456"  # type: ignore[union-attr]
    seven = forced_plate_read(frames, frozenset({7}))
    assert seven is not None and len(seven.guesses) == 7
    assert text_of(seven.guesses)[:2] == "皖A"


def test_a_double_row_plates_row_is_decoded_under_its_own_layout() -> None:
    from checkpoint.lpr.decode import forced_row_guesses
    from checkpoint.lpr.engines.onnx import BOTTOM_ROW, TOP_ROW
    from checkpoint.lpr.ocr import Reading, ctc_guesses

    mapping = np.arange(-1, len(ALPHABET), dtype=np.int64)  # network class k+1 is ALPHABET[k]; 0 the blank
    top = frames_spelling("辽J", faint="J")
    greedy = ctc_guesses(top, mapping)
    assert text_of(greedy) == "辽"  # the faint letter loses to the blank
    assert text_of(forced_row_guesses(Reading(greedy, top, mapping), TOP_ROW)) == "辽J"
    bottom = frames_spelling("Z0J5挂", faint="5")
    reading = Reading(ctc_guesses(bottom, mapping), bottom, mapping)
    assert text_of(forced_row_guesses(reading, BOTTOM_ROW)) == "Z0J5挂"
