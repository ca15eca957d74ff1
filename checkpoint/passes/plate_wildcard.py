"""The plates a wildcard pattern matched in a window, read from the (plate, captured_at) index when it can.

A pattern's start, with each `?` spelled out in every plate character, is a short list of
prefixes (`粤L?2345` → 粤LA2345, 粤LB2345, ...; `粤LA23*` → 粤LA23): whole plates are looked up
with `plate = ANY(...)`, prefixes as ranges [prefix, prefix+1) of the index, a few thousand rows
instead of the whole window. That needs an index ordered by code point (collation C or C.UTF-8)
and at least MIN_PREFIX known characters in that start; otherwise the window is scanned with LIKE.
A `*` with only the end known (粤L*2345) is spelled out at the plate lengths, 7 and 8, as whole
plates. Spelled-out characters are plate characters (provinces, A-Z, 0-9, the special marks): a
read with another character there, or of another length, is found by the scan only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from string import ascii_uppercase

from sqlalchemy import ARRAY, Integer, String, and_, any_, bindparam, or_, select, text
from sqlalchemy.orm import Session

from checkpoint.lpr.alphabet import DIGITS, EMBASSY, EMERGENCY, PROVINCES, TAIL_MARKS
from checkpoint.passes.models import Pass

ALPHABET = PROVINCES + DIGITS + ascii_uppercase + TAIL_MARKS + EMBASSY + EMERGENCY
MAX_PLATES = 6_000  # whole plates looked up one by one (two `?` in a fixed-length pattern)
MAX_RANGES = 100  # prefix ranges in one query (one `?` before the `*`)
PLATE_LENGTHS = (7, 8)  # what a `*` can stretch to when the pattern is spelled out as whole plates
MIN_PREFIX = 4  # known characters in the start; fewer (粤LA*) cover too much of the city: scan instead
CODE_POINT_COLLATIONS = {"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic"}

SCAN_SQL = text("""
SELECT DISTINCT plate FROM pass
WHERE captured_at >= :start AND captured_at < :end AND plate LIKE :like
  AND (CAST(:ids AS int[]) IS NULL OR checkpoint_id = ANY(:ids))
LIMIT :limit
""")


def like_pattern(pattern: str) -> str:
    """A validated wildcard pattern (`?` one character, `*` any run) as SQL LIKE."""
    return pattern.replace("\\", "\\\\").replace("_", r"\_").replace("%", r"\%").replace("?", "_").replace("*", "%")


def prefixes(pattern: str) -> tuple[list[str], bool] | None:
    """(prefixes, whole): the pattern's start with its `?` spelled out, and whether they are whole plates;
    None when the known start is too short to narrow the index."""
    found, known = [""], 0
    for char in pattern:
        if char == "*":
            break
        if char == "?":
            limit = MAX_PLATES if "*" not in pattern else MAX_RANGES
            if len(found) * len(ALPHABET) > limit:
                break
            found = [start + letter for start in found for letter in ALPHABET]
        else:
            found, known = [start + char for start in found], known + 1
    else:
        return found, True
    if known < MIN_PREFIX or len(found) > MAX_RANGES:
        return None
    return found, False


def narrowing(pattern: str) -> tuple[list[str], bool] | None:
    """`prefixes`, or else, for a pattern with one `*` and its known characters at the end (粤L*2345),
    the pattern at each plate length with the `*` spelled out: whole plates (粤LA2345 ... 粤LZZ2345)."""
    found = prefixes(pattern)
    if found is not None or pattern.count("*") != 1:
        return found
    plates: list[str] = []
    for length in PLATE_LENGTHS:
        fill = length - (len(pattern) - 1)
        if fill < 0:
            continue
        spelled = prefixes(pattern.replace("*", "?" * fill))
        if spelled is None or not spelled[1] or len(plates) + len(spelled[0]) > MAX_PLATES:
            return None
        plates += spelled[0]
    return (plates, True) if plates else None


def code_point_order(session: Session) -> bool:
    """Whether the database sorts text by code point, so a prefix is one range of the plate index."""
    collation = session.scalar(text("SELECT datcollate FROM pg_database WHERE datname = current_database()"))
    return collation in CODE_POINT_COLLATIONS


def matching_plates(session: Session, pattern: str, start: datetime, end: datetime, ids: Sequence[int] | None,
                    limit: int) -> list[str]:
    """Distinct plates seen in [start, end) (at `ids`, if given) that match `pattern`, at most `limit`."""
    like = like_pattern(pattern)
    narrowed = narrowing(pattern) if code_point_order(session) else None
    if narrowed is None:
        return list(session.scalars(SCAN_SQL, {"start": start, "end": end, "like": like,
                                               "ids": list(ids) if ids is not None else None, "limit": limit}))
    starts, whole = narrowed
    if whole:
        by_plate = Pass.plate == any_(bindparam("plates", starts, type_=ARRAY(String)))
    else:
        by_plate = or_(*[and_(Pass.plate >= prefix, Pass.plate < prefix[:-1] + chr(ord(prefix[-1]) + 1))
                         for prefix in starts])
    query = (select(Pass.plate).distinct()
             .where(by_plate, Pass.captured_at >= start, Pass.captured_at < end, Pass.plate.like(like, escape="\\")))
    if ids is not None:
        query = query.where(Pass.checkpoint_id == any_(bindparam("ids", list(ids), type_=ARRAY(Integer))))
    return list(session.scalars(query.limit(limit)))
