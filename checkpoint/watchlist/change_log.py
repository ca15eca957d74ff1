"""The watch change log in PostgreSQL: what matchers enforce, one versioned row per change.

A watch approved (or planted), withdrawn, expired or edited writes a `watch_change` row in the
transaction that changes the entry (`record_change`), so a change the API answered for is a durable
fact before any index holds it. Matchers apply the log in version order and compare their copy's
version with `database_version()` before matching; the Redis index (index.py) is a cache of it.

Versions are assigned one at a time: `record_change` takes `pg_advisory_xact_lock(CHANGE_LOCK)`,
then reads max(version) + 1 in a statement of its own (READ COMMITTED, the default: it sees the last
writer's commit). The lock is held to the end of the transaction and PostgreSQL releases it only
after the commit is visible, so versions become visible in version order: a reader that has seen
version N never later finds a committed N-1 it skipped. A writer that rolls back leaves its number
to the next one, so the log has no gaps either.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow
from checkpoint.core.models import User
from checkpoint.watchlist.models import WatchEntry, WatchStatus
from checkpoint.watchlist.plates import MatchMode, Pattern, Strictness

CHANGE_LOCK = 0x636B70_77617463  # "ckp" "watc": the advisory lock key that serialises version numbers


@dataclass(frozen=True)
class WatchSpec:
    """What a matcher needs of an active entry to decide a hit; logged with each change, cached in Redis."""

    id: int
    mode: str
    pattern: str
    strictness: str
    plate_colour: str | None
    valid_from: str  # ISO-8601 UTC
    valid_to: str
    scope_kind: str = "network"
    districts: list[str] = field(default_factory=list)
    checkpoint_ids: list[int] = field(default_factory=list)
    priority: int = 2
    category: str = ""

    @cached_property
    def parsed(self) -> Pattern:
        return Pattern(MatchMode(self.mode), self.pattern, Strictness(self.strictness))

    @cached_property
    def window(self) -> tuple[datetime, datetime]:
        return datetime.fromisoformat(self.valid_from), datetime.fromisoformat(self.valid_to)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> WatchSpec:
        return cls(**json.loads(text))

    @classmethod
    def of(cls, entry: WatchEntry) -> WatchSpec:
        return cls(id=entry.id, mode=entry.match_mode, pattern=entry.pattern, strictness=entry.strictness,
                   plate_colour=entry.plate_colour, valid_from=entry.valid_from.isoformat(),
                   valid_to=entry.valid_to.isoformat(), scope_kind=entry.scope_kind,
                   districts=list(entry.scope_districts), checkpoint_ids=list(entry.scope_checkpoint_ids),
                   priority=entry.priority, category=entry.category)

    def in_force(self, at: datetime) -> bool:
        start, end = self.window
        return start <= at < end

    def covers(self, checkpoint_id: int, district: str | None) -> bool:
        if self.scope_kind == "districts":
            return district in self.districts
        if self.scope_kind == "checkpoints":
            return checkpoint_id in self.checkpoint_ids
        return True


class WatchChange(Base):
    """One change of what matchers enforce: `add` (with the spec in force from now) or `remove`."""

    __tablename__ = "watch_change"
    __table_args__ = (CheckConstraint("op IN ('add', 'remove')", name="op"),)

    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("watch_entry.id"), index=True)
    op: Mapped[str] = mapped_column(String(8))
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # WatchSpec's fields for `add`
    action: Mapped[str] = mapped_column(String(16))  # approve, withdraw, expire, edit, plant
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    def watch_spec(self) -> WatchSpec | None:
        return WatchSpec(**self.spec) if self.spec is not None else None


def record_change(session: Session, entry: WatchEntry, action: str, by: User | None = None) -> WatchChange:
    """Log the entry's state as matchers must enforce it (active: add its spec; otherwise: remove), with
    the next version; call it in the transaction that changes the entry, as late as possible (the
    version lock is held until that transaction ends)."""
    session.execute(select(func.pg_advisory_xact_lock(CHANGE_LOCK)))
    version = database_version(session) + 1
    active = entry.status == WatchStatus.active.value
    change = WatchChange(version=version, entry_id=entry.id, op="add" if active else "remove",
                         spec=asdict(WatchSpec.of(entry)) if active else None, action=action,
                         changed_at=utcnow(), changed_by=by.id if by is not None else None)
    session.add(change)
    session.flush()
    return change


def database_version(session: Session) -> int:
    """The newest committed version (0 before the first change): what every index must reach."""
    return int(session.scalar(select(func.coalesce(func.max(WatchChange.version), 0))) or 0)


def changes_since(session: Session, version: int, limit: int = 5_000) -> list[WatchChange]:
    """The changes after `version`, in version order (at most `limit`)."""
    return list(session.scalars(select(WatchChange).where(WatchChange.version > version)
                                .order_by(WatchChange.version).limit(limit)))
