"""The audit log: who did what, when, from where, and the reason they gave."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from checkpoint.core.models import AuditEntry, User


def record(
    session: Session,
    actor: User | None,
    action: str,
    *,
    target: str | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    client_ip: str | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Add one audit row in the caller's transaction; the caller commits with its own work.

    Record it last, just before the commit: the row's insert trigger chains it to the previous row
    under a lock held until the transaction ends (migration 0023), so every other audit writer waits
    for this transaction's remaining work (docs/BENCHMARKS.md, issue 20: the chain's cost)."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else (actor_name or "-"),
        action=action,
        target=target,
        reason=reason,
        detail=detail or {},
        client_ip=client_ip,
    )
    session.add(entry)
    session.flush()
    return entry


def search(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; `before_id` pages back through older rows."""
    query = filtered(action=action, actor=actor, target=target, since=since, until=until).limit(limit)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))


def filtered(*, action: str | None = None, actor: str | None = None, target: str | None = None,
             since: datetime | None = None, until: datetime | None = None) -> Select[AuditEntry]:
    """Rows newest first: `action` is a prefix (`watch.` for every watch change), `actor` a user name,
    `target` a part of the target (a plate, `watch:17`), [since, until) the time range."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(AuditEntry.actor_name == actor)
    if target:
        query = query.where(AuditEntry.target.contains(target, autoescape=True))
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return query
