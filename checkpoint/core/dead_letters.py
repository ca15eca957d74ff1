"""Dead letters: messages a consumer gave up on (`checkpoint:dead`, written by bus.dead_letter), shown and
replayed so none is lost silently.

A dead entry holds the original fields plus `_stream`, `_id`, `_group` and `_reason`. Replaying puts the
original fields back on their original stream as a new entry (every group on that stream reads it again:
handlers are idempotent on their upstream ids) and deletes the dead entry, in one MULTI; the caller
records it in the audit log. Generic: no domain is imported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from checkpoint.core.bus import DEAD_STREAM
from checkpoint.core.errors import DomainError, InvalidInput, NotFound

META_FIELDS = ("_stream", "_id", "_group", "_reason")
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class DeadLetterNotFound(NotFound):
    reason = "dead-letter-not-found"


class DeadLettersUnavailable(DomainError):
    status = 503
    reason = "redis-unavailable"


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the entry's id in checkpoint:dead
    stream: str  # where it came from, and where a replay puts it back
    original_id: str
    group: str
    reason: str
    dead_at: datetime  # from the entry id (milliseconds since the epoch)
    fields: dict[str, str]  # the original message


@dataclass(frozen=True)
class Summary:
    count: int
    newest_at: datetime | None
    by_stream: dict[str, int]


def _at(entry_id: str) -> datetime:
    return datetime.fromtimestamp(int(entry_id.split("-", 1)[0]) / 1000, UTC)


def _parse(entry_id: str, raw: dict[str, str]) -> DeadLetter:
    return DeadLetter(id=entry_id, stream=raw.get("_stream", ""), original_id=raw.get("_id", ""),
                      group=raw.get("_group", ""), reason=raw.get("_reason", ""), dead_at=_at(entry_id),
                      fields={key: value for key, value in raw.items() if key not in META_FIELDS})


def _checked_id(entry_id: str) -> str:
    if not ENTRY_ID.match(entry_id):
        raise InvalidInput(f"{entry_id!r} is not a stream entry id (like 1733600000000-0)")
    return entry_id


def list_dead(bus: Redis, stream: str | None = None, limit: int = 100) -> list[DeadLetter]:
    """Dead letters, newest first (those of one original stream if given)."""
    try:
        found: list[DeadLetter] = []
        upper = "+"
        while len(found) < limit:
            page: Any = bus.xrevrange(DEAD_STREAM, max=upper, count=500)
            if not page:
                break
            letters = [_parse(str(entry_id), dict(raw)) for entry_id, raw in page]
            found += [letter for letter in letters if stream is None or letter.stream == stream]
            if len(page) < 500:
                break
            upper = f"({page[-1][0]}"
        return found[:limit]
    except RedisError as exc:
        raise DeadLettersUnavailable(f"Redis does not answer: {exc}") from None


def summary(bus: Redis) -> Summary:
    """How many are waiting, the newest one's time, and how many per original stream."""
    letters = list_dead(bus, limit=10_000)
    by_stream: dict[str, int] = {}
    for letter in letters:
        by_stream[letter.stream] = by_stream.get(letter.stream, 0) + 1
    return Summary(count=len(letters), newest_at=letters[0].dead_at if letters else None, by_stream=by_stream)


def get_dead(bus: Redis, entry_id: str) -> DeadLetter:
    try:
        found: Any = bus.xrange(DEAD_STREAM, min=_checked_id(entry_id), max=entry_id, count=1)
    except RedisError as exc:
        raise DeadLettersUnavailable(f"Redis does not answer: {exc}") from None
    if not found:
        raise DeadLetterNotFound(f"dead letter {entry_id} does not exist (replayed already?)")
    return _parse(str(found[0][0]), dict(found[0][1]))


def replay(bus: Redis, entry_id: str) -> tuple[DeadLetter, str]:
    """Put one dead letter back on its stream and delete it; returns it and its new entry id there."""
    letter = get_dead(bus, entry_id)
    if not letter.stream or not letter.fields:
        raise InvalidInput(f"dead letter {entry_id} names no stream or carries no fields: it cannot be replayed")
    try:
        pipe = bus.pipeline(transaction=True)
        pipe.xadd(letter.stream, letter.fields)  # type: ignore[arg-type]  # str -> str is a valid field map
        pipe.xdel(DEAD_STREAM, letter.id)
        new_id, _deleted = pipe.execute()
    except RedisError as exc:
        raise DeadLettersUnavailable(f"Redis does not answer: {exc}") from None
    return letter, str(new_id)


def replay_all(bus: Redis, stream: str | None = None, limit: int = 10_000) -> list[tuple[DeadLetter, str]]:
    """Replay every dead letter (of one original stream if given), oldest first."""
    letters = list(reversed(list_dead(bus, stream, limit)))
    return [replay(bus, letter.id) for letter in letters]
