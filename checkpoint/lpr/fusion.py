"""Fusion: two recognisers' readings of one plate, and several reads of one vehicle."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from checkpoint.lpr.alphabet import ALPHABET, PROVINCES
from checkpoint.lpr.models import PlateColour, PlateRead, PlateType
from checkpoint.lpr.normalize import PlateChoice, best_plate_text, plate_type_of
from checkpoint.lpr.ocr import CharGuess

FloatArray = npt.NDArray[np.float32]

_PROVINCE_MASK = np.array([char in PROVINCES for char in ALPHABET], dtype=bool)


def align(reference: list[CharGuess], other: list[CharGuess]) -> list[int | None]:
    """For each reference character, the index of the matching `other` character (or None).

    Needleman-Wunsch on agreement (dot product of the distributions) and position along the
    plate, so one recogniser's extra or missing character does not shift all the others.
    """
    rows, cols = len(reference), len(other)
    score = np.zeros((rows + 1, cols + 1), dtype=np.float64)
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            agreement = float(reference[i - 1].probs @ other[j - 1].probs)
            closeness = 1.0 - min(1.0, abs(reference[i - 1].position - other[j - 1].position) * 4)
            score[i, j] = max(score[i - 1, j], score[i, j - 1], score[i - 1, j - 1] + agreement + 0.5 * closeness)
    matches: list[int | None] = [None] * rows
    i, j = rows, cols
    while i > 0 and j > 0:
        if score[i, j] == score[i - 1, j]:
            i -= 1
        elif score[i, j] == score[i, j - 1]:
            j -= 1
        else:
            matches[i - 1] = j - 1
            i, j = i - 1, j - 1
    return matches


def combine(
    reference: list[CharGuess], other: list[CharGuess], reference_weight: float, province_weight: float
) -> list[FloatArray]:
    """Per-character weighted mixture of two readings, laid out on the reference's characters.

    `province_weight` is the reference's weight where a province character stands: the plate
    recogniser over-predicts 皖 there, the general recogniser knows Chinese better.
    """
    mixed: list[FloatArray] = []
    for index, match in enumerate(align(reference, other)):
        mine = reference[index].probs
        if match is None:
            mixed.append(mine)
            continue
        theirs = other[match].probs
        is_chinese = bool(_PROVINCE_MASK[int(np.argmax(mine))] or _PROVINCE_MASK[int(np.argmax(theirs))])
        weight = province_weight if is_chinese else reference_weight
        mixed.append((weight * mine + (1.0 - weight) * theirs).astype(np.float32))
    return mixed


def fuse_recognisers(
    plate_guesses: list[CharGuess],
    paddle_guesses: list[CharGuess] | None,
    *,
    plate_weight: float = 0.5,
    plate_province_weight: float = 0.5,
    excluded: frozenset[PlateType] = frozenset(),
) -> PlateChoice | None:
    """Best plate text from the plate recogniser and, when given, PP-OCR; None if no layout fits.

    `excluded`: layouts the plate's colour rules out (normalize.excluded_types)."""
    if not paddle_guesses:
        return best_plate_text([guess.probs for guess in plate_guesses], excluded=excluded)
    candidates: list[PlateChoice] = []
    for reference, other, weight, province_weight in (
        (plate_guesses, paddle_guesses, plate_weight, plate_province_weight),
        (paddle_guesses, plate_guesses, 1.0 - plate_weight, 1.0 - plate_province_weight),
    ):
        if not reference:
            continue
        choice = best_plate_text(combine(reference, other, weight, province_weight), excluded=excluded)
        if choice is not None:
            candidates.append(choice)
            if len(reference) == len(other):
                break  # same layout either way round
    if not candidates:
        return None
    return max(candidates, key=lambda choice: float(np.mean(np.log(np.maximum(choice.char_confidences, 1e-6)))))


MAX_DISAGREEMENT = 3  # a read differing from the vote in this many characters is shifted or misread


def fuse_reads(reads: Sequence[PlateRead]) -> PlateRead | None:
    """One plate from several reads of the same vehicle: per-character vote weighted by confidence.

    Reads of the most supported length vote; each position takes the character with the most
    confidence behind it, and its confidence is that character's share of the vote. A read that
    then differs from the winner in `MAX_DISAGREEMENT` or more characters (a character dropped
    and one added at the end shifts all between) is no evidence on single characters: the vote
    is taken again without it, so two shifted reads cannot outvote four aligned ones.
    """
    if not reads:
        return None
    support_by_length: dict[int, float] = defaultdict(float)
    for read in reads:
        support_by_length[len(read.text)] += read.confidence
    length = max(support_by_length, key=lambda key: support_by_length[key])
    voters = [read for read in reads if len(read.text) == length]
    chars, confidences = _vote(voters, length)
    aligned = [read for read in voters if _differences(read.text, chars) < MAX_DISAGREEMENT]
    if 2 <= len(aligned) < len(voters):
        voters = aligned
        chars, confidences = _vote(voters, length)
    colour_votes: dict[PlateColour, float] = defaultdict(float)
    for read in voters:
        colour_votes[read.colour] += read.confidence
    colour = max(colour_votes, key=lambda key: colour_votes[key])
    body_votes: dict[str, float] = defaultdict(float)
    for read in voters:
        if read.vehicle_colour:
            body_votes[read.vehicle_colour] += read.confidence
    text = "".join(chars)
    best_read = max(voters, key=lambda read: read.confidence)
    mean_confidence = float(np.mean([read.confidence for read in voters]))
    return replace(
        best_read,
        text=text,
        colour=colour,
        vehicle_colour=max(body_votes, key=lambda key: body_votes[key]) if body_votes else None,
        plate_type=plate_type_of(text, colour),
        confidence=min(min(confidences), 1.0) * mean_confidence if len(voters) > 1 else best_read.confidence,
        char_confidences=tuple(confidences) if len(voters) > 1 else best_read.char_confidences,
    )


def _vote(voters: Sequence[PlateRead], length: int) -> tuple[list[str], list[float]]:
    """Per position, the character with the most confidence behind it, and its share of the vote."""
    chars: list[str] = []
    confidences: list[float] = []
    for position in range(length):
        votes: dict[str, float] = defaultdict(float)
        for read in voters:
            weight = read.char_confidences[position] if len(read.char_confidences) == length else read.confidence
            votes[read.text[position]] += weight
        winner = max(votes, key=lambda char: votes[char])
        chars.append(winner)
        confidences.append(votes[winner] / max(sum(votes.values()), 1e-9))
    return chars, confidences


def _differences(text: str, chars: list[str]) -> int:
    return sum(mine != theirs for mine, theirs in zip(text, chars, strict=True))
