"""Which stored passes a pattern would have matched: shown to the officer before they register it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from checkpoint.core.db import utcnow
from checkpoint.passes.models import Pass
from checkpoint.watchlist.plates import CONFUSION_CLASSES, MatchMode, Pattern, canonical, deletions
from checkpoint.watchlist.schemas import Preview, PreviewPass

_FROM = "".join(CONFUSION_CLASSES)
_TO = "".join(group[0] * len(group) for group in CONFUSION_CLASSES)


def _candidates(pattern: Pattern) -> ColumnElement[bool]:
    """A SQL filter that finds every pass the pattern can match (verified in Python afterwards)."""
    if pattern.mode is MatchMode.exact:
        return Pass.plate == pattern.text
    if pattern.mode is MatchMode.wildcard:
        like = pattern.text.replace("_", r"\_").replace("%", r"\%").replace("?", "_").replace("*", "%")
        return Pass.plate.like(like)
    folded = func.translate(Pass.plate, _FROM, _TO)
    key = canonical(pattern.text)
    keys = [key, *deletions(key)]  # equal length, or a read missing one character
    extra = [folded.like(key[:i] + "_" + key[i:]) for i in range(len(key) + 1)]  # a read with one extra
    return or_(folded.in_(keys), *extra)


def preview(session: Session, pattern: Pattern, plate_colour: str | None, days: int = 30,
            limit: int = 200) -> Preview:
    since = utcnow() - timedelta(days=days)
    query = (select(Pass).where(Pass.captured_at >= since, _candidates(pattern))
             .order_by(Pass.captured_at.desc()).limit(limit * 4))
    if plate_colour:
        query = query.where(Pass.plate_colour == plate_colour)
    found: list[PreviewPass] = []
    for stored in session.scalars(query):
        why = pattern.explain(stored.plate)
        if why is not None and len(found) < limit:
            found.append(PreviewPass(pass_id=stored.id, plate=stored.plate, checkpoint_id=stored.checkpoint_id,
                                     captured_at=stored.captured_at, why=why))
    return Preview(pattern=pattern.text, days=days, matched=len(found), passes=found)
