"""Plate-constrained CTC decoding: the best path through a recogniser's frames that spells a plate.

Greedy decoding sometimes drops a character (a faint province, two letters run together) or
adds one, and then no plate layout has the right length. Decoding with each layout's
per-position character sets instead (a Viterbi search over "k characters emitted so far")
finds the most probable path that emits exactly one allowed character per position, so the
dropped character is recovered from the frames where it was second best to the blank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from checkpoint.lpr.alphabet import ALPHABET
from checkpoint.lpr.normalize import TEMPLATES, position_masks
from checkpoint.lpr.ocr import CharGuess, Reading

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

NEVER = -1e9  # log score of an impossible state
LOG_FLOOR = 1e-12


def _layouts_by_length() -> npt.NDArray[np.bool_]:
    """Per plate length, the characters each position allows in any layout of that length.

    The search only needs the length and a loose per-position set; `best_plate_text` then
    applies the exact layouts to the characters found.
    """
    lengths = sorted({len(template.positions) for template in TEMPLATES})
    allowed = np.zeros((len(lengths), max(lengths), len(ALPHABET)), dtype=bool)
    for template in TEMPLATES:
        row = lengths.index(len(template.positions))
        allowed[row, : len(template.positions)] |= position_masks(template)
    return allowed


_ALLOWED = _layouts_by_length()
_LENGTHS = _ALLOWED.any(axis=2).sum(axis=1)


@dataclass(frozen=True, slots=True)
class ForcedRead:
    """The best layout's path: its characters as guesses, and the path's log probability."""

    guesses: list[CharGuess]
    log_score: float


def project_frames(frame_probs: FloatArray, mapping: IntArray) -> FloatArray:
    """Per frame, the blank's probability (column 0) then each ALPHABET character's (folded)."""
    frames, classes = frame_probs.shape
    usable = np.flatnonzero(mapping[:classes] >= 0)
    projected = np.zeros((frames, 1 + len(ALPHABET)), dtype=np.float32)
    projected[:, 0] = frame_probs[:, 0]
    np.add.at(projected.T, 1 + mapping[usable], frame_probs[:, usable].T)
    return projected


def forced_plate_read(
    projected: FloatArray, lengths: frozenset[int] | None = None, layouts_allowed: npt.NDArray[np.bool_] | None = None
) -> ForcedRead | None:
    """The most probable frame path that spells some plate layout exactly, or None (too few frames).

    `lengths` limits the layouts to plates of these lengths (None: all); `layouts_allowed`
    (layouts x positions x ALPHABET) replaces the plate layouts, e.g. with one row of a double-row plate.

    States per layout: "blank after k characters" and "k-th character is c". A character may
    follow a different one directly; the same character twice needs a blank between (CTC).
    """
    frames = projected.shape[0]
    if frames < 2:
        return None
    allowed_chars = _ALLOWED if layouts_allowed is None else layouts_allowed
    layout_lengths = allowed_chars.any(axis=2).sum(axis=1)
    log_blank = np.log(np.maximum(projected[:, 0], LOG_FLOOR))
    log_char = np.log(np.maximum(projected[:, 1:], LOG_FLOOR))
    layouts, length, letters = allowed_chars.shape
    chars = np.full((layouts, length, letters), NEVER)
    chars[:, 0] = np.where(allowed_chars[:, 0], log_char[0], NEVER)
    blanks = np.full((layouts, length + 1), NEVER)
    blanks[:, 0] = log_blank[0]
    letter_ids = np.arange(letters)
    # back-pointers per frame: a character state's source (0 stay, 1 blank before it, 2 the
    # previous position's letter `char_prev`); a blank state's (True: from `blank_prev`)
    char_source = np.zeros((frames, layouts, length, letters), dtype=np.int8)
    char_prev = np.zeros((frames, layouts, length, letters), dtype=np.int16)
    blank_source = np.zeros((frames, layouts, length + 1), dtype=bool)
    blank_prev = np.zeros((frames, layouts, length + 1), dtype=np.int16)
    for t in range(1, frames):
        first = chars.argmax(axis=2)
        is_first = letter_ids[np.newaxis, np.newaxis, :] == first[:, :, np.newaxis]
        without_first = np.where(is_first, NEVER * 2, chars)
        second = without_first.argmax(axis=2)
        best = chars.max(axis=2)
        runner_up = without_first.max(axis=2)
        other_score = np.where(is_first, runner_up[:, :, np.newaxis], best[:, :, np.newaxis])
        other_letter = np.where(is_first, second[:, :, np.newaxis], first[:, :, np.newaxis])
        from_other = np.full_like(chars, NEVER)
        from_other[:, 1:] = other_score[:, :-1]
        sources = np.stack([chars, np.broadcast_to(blanks[:, :length, np.newaxis], chars.shape), from_other])
        char_source[t] = sources.argmax(axis=0)
        char_prev[t, :, 1:] = other_letter[:, :-1]
        from_char = np.concatenate([np.full((layouts, 1), NEVER), best], axis=1)
        blank_source[t] = from_char > blanks
        blank_prev[t, :, 1:] = first
        blanks = np.maximum(blanks, from_char) + log_blank[t]
        chars = np.maximum(sources.max(axis=0) + np.where(allowed_chars, log_char[t], NEVER), NEVER)
    rows = np.arange(layouts)
    end_blank = blanks[rows, layout_lengths]
    end_char = chars[rows, layout_lengths - 1].max(axis=1)
    scores = np.maximum(end_blank, end_char)
    if lengths is not None:
        scores = np.where(np.isin(layout_lengths, list(lengths)), scores, NEVER)
    layout = int(np.argmax(scores))
    if scores[layout] <= NEVER / 2:
        return None
    last = int(layout_lengths[layout]) - 1
    state = (last, int(chars[layout, last].argmax())) if end_char[layout] >= end_blank[layout] else (last + 1, -1)
    spans: dict[int, tuple[int, list[int]]] = {}
    for t in range(frames - 1, -1, -1):
        position, letter = state
        if letter < 0:  # blank after `position` characters
            if t > 0 and blank_source[t, layout, position]:
                state = (position - 1, int(blank_prev[t, layout, position]))
            continue
        spans.setdefault(position, (letter, []))[1].append(t)
        if t == 0:
            break
        source = int(char_source[t, layout, position, letter])
        if source == 1:
            state = (position, -1)
        elif source == 2:
            state = (position - 1, int(char_prev[t, layout, position, letter]))
    if len(spans) != layout_lengths[layout]:
        return None
    guesses = [_guess_at(projected, *spans[k], frames) for k in sorted(spans)]
    return ForcedRead(guesses=guesses, log_score=float(scores[layout]))


def _guess_at(projected: FloatArray, letter: int, span: list[int], frames: int) -> CharGuess:
    """The character's distribution at the frame of its span where the chosen letter peaks."""
    peak = max(span, key=lambda t: float(projected[t, 1 + letter]))
    probs = projected[peak, 1:].copy()
    return CharGuess(probs=probs, position=(min(span) + max(span) + 1) / 2 / frames)


def forced_guesses(reading: Reading, lengths: frozenset[int] | None = None) -> list[CharGuess]:
    """The reading's characters decoded under the plate layouts (its greedy ones if none fits)."""
    forced = forced_plate_read(project_frames(reading.frames, reading.mapping), lengths)
    return reading.guesses if forced is None else forced.guesses


def row_layout(*positions: str) -> npt.NDArray[np.bool_]:
    """One layout (1 x positions x ALPHABET) from each position's allowed characters."""
    allowed = np.zeros((1, len(positions), len(ALPHABET)), dtype=bool)
    for index, chars in enumerate(positions):
        allowed[0, index, [ALPHABET.index(char) for char in chars]] = True
    return allowed


def forced_row_guesses(reading: Reading, layout: npt.NDArray[np.bool_]) -> list[CharGuess]:
    """One row's characters decoded under its layout (its greedy ones when they already fit or nothing does)."""
    if len(reading.guesses) == layout.shape[1]:
        return reading.guesses
    forced = forced_plate_read(project_frames(reading.frames, reading.mapping), layouts_allowed=layout)
    return reading.guesses if forced is None else forced.guesses
