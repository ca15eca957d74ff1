"""Fuzzy plate search: the plates seen at the checkpoints that a fuzzy watch on `plate` would match.

The trajectory search offers "fuzzy, with the watchlist's matching" without importing the
watchlist (a sibling layer): the app factory hands it `plates_matching` as a dependency.
The rules are the watchlist's own (`plates.fuzzy_explain`); this module only enumerates the
reads they accept (confusions, and one missing or extra character unless strict) and asks
the pass table's (plate, captured_at) index which of them were seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.lpr.alphabet import DIGITS, LETTERS
from checkpoint.watchlist.plates import (
    CONFUSION_CLASSES,
    MAX_CONFUSIONS,
    MatchMode,
    Strictness,
    fuzzy_explain,
    parse_pattern,
)

_ALTERNATIVES: dict[str, str] = {char: group.replace(char, "") for group in CONFUSION_CLASSES for char in group}
INSERTABLE = DIGITS + LETTERS  # an extra character read into a plate is a letter or digit

SEEN_SQL = text("""
SELECT DISTINCT plate FROM pass
WHERE plate = ANY(:candidates) AND (CAST(:start AS timestamptz) IS NULL OR captured_at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR captured_at < :end)
""")


def confusions(plate: str, most: int, start: int = 0) -> Iterator[str]:
    """`plate` and every string made by at most `most` confusion swaps at positions from `start`."""
    yield plate
    if most == 0:
        return
    for index in range(start, len(plate)):
        for other in _ALTERNATIVES.get(plate[index], ""):
            yield from confusions(plate[:index] + other + plate[index + 1:], most - 1, index + 1)


def candidate_reads(plate: str, strictness: Strictness) -> set[str]:
    """Every read a fuzzy watch on `plate` (already valid and normalised) accepts."""
    found = set(confusions(plate, MAX_CONFUSIONS[strictness]))
    if strictness is not Strictness.strict:
        indel = 1 if strictness is Strictness.normal else MAX_CONFUSIONS[strictness]
        shorter = {plate[:i] + plate[i + 1:] for i in range(len(plate))}
        longer = {plate[:i] + char + plate[i:] for i in range(1, len(plate) + 1) for char in INSERTABLE}
        for base in shorter | longer:
            found.update(confusions(base, indel))
    return {read for read in found if fuzzy_explain(plate, read, strictness) is not None}


def plates_matching(session: Session, plate: str, strictness: str = Strictness.strict.value,
                    start: datetime | None = None, end: datetime | None = None) -> list[str]:
    """The plate itself, then the other plates seen in [start, end) that a fuzzy watch on it matches.

    An invalid plate raises InvalidInput (a 422 with the reason), as when registering a watch.
    """
    watched = parse_pattern(MatchMode.fuzzy, plate, Strictness(strictness)).text
    candidates = sorted(candidate_reads(watched, Strictness(strictness)))
    seen = session.scalars(SEEN_SQL, {"candidates": candidates, "start": start, "end": end})
    return [watched] + sorted(set(seen) - {watched})


class WatchlistPlateRules:
    """The watchlist's pattern rules for 过车查询 (passes.search.PlateRules), handed over by the app factory."""

    def pattern(self, mode: str, text: str, strictness: str) -> str:
        return parse_pattern(MatchMode(mode), text, Strictness(strictness)).text

    def fuzzy_plates(self, session: Session, plate: str, strictness: str, start: datetime,
                     end: datetime) -> list[str]:
        return plates_matching(session, plate, strictness, start, end)
