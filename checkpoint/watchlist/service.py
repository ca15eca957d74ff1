"""Watch lifecycle: draft -> pending approval -> active -> withdrawn or expired (or rejected).

Four eyes: an officer registers and submits; an *approver* (审批人) — a different person — approves or
rejects. Withdrawal too: an officer or approver asks for it, a second person approves it. "Different
person" covers second accounts: an approver account created, granted or reset by the requester does
not count (core/duties.py). Every change is written to the audit log with its reason. A change of what matchers
enforce (approve, withdraw, expire) also writes a versioned `watch_change` row in the same
transaction (change_log.py). Services flush; the route commits, then brings the Redis index up to
the database's version (index.mirror).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.db import utcnow
from checkpoint.core.duties import SeparationOfDuties, check_second_person
from checkpoint.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from checkpoint.core.models import Role, User
from checkpoint.watchlist.change_log import record_change
from checkpoint.watchlist.models import WatchEntry, WatchStatus
from checkpoint.watchlist.plates import MatchMode, Pattern, Strictness, parse_pattern
from checkpoint.watchlist.schemas import WatchCreate
from checkpoint.watchlist.scope_check import check_checkpoints, check_districts

DEFAULT_VALIDITY = timedelta(days=30)
MAX_VALIDITY = timedelta(days=366)


class WatchNotFound(NotFound):
    reason = "watch-not-found"


class WrongWatchState(Conflict):
    reason = "wrong-watch-state"


class FourEyes(Forbidden):
    reason = "four-eyes"


ACTS_ZH = {"approve": "审批", "reject": "驳回", "withdraw": "批准撤控"}


def is_supervisor(user: User) -> bool:
    """An approver (审批人): approves watches and withdrawals of others."""
    return user.has_any(Role.approver)


def pattern_of(entry: WatchEntry) -> Pattern:
    return Pattern(MatchMode(entry.match_mode), entry.pattern, Strictness(entry.strictness))


def get_watch(session: Session, entry_id: int) -> WatchEntry:
    entry = session.get(WatchEntry, entry_id)
    if entry is None:
        raise WatchNotFound(f"watch {entry_id} does not exist")
    return entry


def list_watches(session: Session, status: str | None = None, limit: int = 500) -> list[WatchEntry]:
    query = select(WatchEntry).order_by(WatchEntry.id.desc()).limit(limit)
    if status:
        query = query.where(WatchEntry.status == status)
    return list(session.scalars(query))


def _check_scope(session: Session, data: WatchCreate) -> None:
    if data.scope_kind == "districts":
        if not data.scope_districts:
            raise InvalidInput("a district scope needs at least one district")
        check_districts(session, data.scope_districts)
    if data.scope_kind == "checkpoints":
        if not data.scope_checkpoint_ids:
            raise InvalidInput("a checkpoint scope needs at least one checkpoint")
        check_checkpoints(session, data.scope_checkpoint_ids)


def _validity(data: WatchCreate, now: datetime) -> tuple[datetime, datetime]:
    start = data.valid_from or now
    end = data.valid_to or start + DEFAULT_VALIDITY
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("valid_from and valid_to need a time zone (e.g. 2026-11-25T08:00:00+08:00)")
    if end <= start:
        raise InvalidInput("valid_to must be after valid_from")
    if end <= now:
        raise InvalidInput("valid_to is already past")
    if end - start > MAX_VALIDITY:
        raise InvalidInput("a watch lasts at most 366 days; renew it when it ends")
    return start, end


def create_watch(session: Session, officer: User, data: WatchCreate) -> WatchEntry:
    """Register a watch as a draft, or submitted for approval when `data.submit`."""
    pattern = parse_pattern(data.match_mode, data.pattern, data.strictness)
    _check_scope(session, data)
    now = utcnow()
    start, end = _validity(data, now)
    entry = WatchEntry(
        pattern=pattern.text, match_mode=pattern.mode.value, strictness=pattern.strictness.value,
        plate_colour=data.plate_colour, category=data.category, reason=data.reason.strip(),
        case_number=data.case_number, priority=data.priority, scope_kind=data.scope_kind,
        scope_districts=sorted(set(data.scope_districts)) if data.scope_kind == "districts" else [],
        scope_checkpoint_ids=sorted(set(data.scope_checkpoint_ids)) if data.scope_kind == "checkpoints" else [],
        valid_from=start, valid_to=end, requested_by=officer.id, status=WatchStatus.draft.value, created_at=now,
    )
    session.add(entry)
    session.flush()
    audit.record(session, officer, "watch.create", target=f"watch:{entry.id}", reason=entry.reason,
                 detail={"mode": entry.match_mode, "category": entry.category, "case": entry.case_number,
                         "scope": entry.scope_kind})
    if data.submit:
        submit_watch(session, officer, entry)
    return entry


def submit_watch(session: Session, officer: User, entry: WatchEntry) -> WatchEntry:
    if entry.status != WatchStatus.draft.value:
        raise WrongWatchState(f"watch {entry.id} is {entry.status}; only a draft can be submitted")
    if entry.requested_by != officer.id:
        raise Forbidden("only the requesting officer submits their draft")
    entry.status, entry.submitted_at = WatchStatus.pending.value, utcnow()
    audit.record(session, officer, "watch.submit", target=f"watch:{entry.id}", reason=entry.reason)
    session.flush()
    return entry


def _check_second_user(session: Session, user: User, entry: WatchEntry, what: str,
                       others: tuple[int | None, ...] = ()) -> None:
    if not is_supervisor(user):
        raise FourEyes(f"需由审批人处理 (to {what} a watch needs the approver role)")
    try:
        check_second_person(session, user, [entry.requested_by, *others], ACTS_ZH[what])
    except SeparationOfDuties as exc:
        raise FourEyes(f"布控 {entry.id}：{exc}") from None


def approve_watch(session: Session, supervisor: User, entry: WatchEntry, reason: str) -> WatchEntry:
    _check_second_user(session, supervisor, entry, "approve")
    if entry.status != WatchStatus.pending.value:
        raise WrongWatchState(f"watch {entry.id} is {entry.status}; only a pending watch can be approved")
    now = utcnow()
    if entry.valid_to <= now:
        raise WrongWatchState(f"watch {entry.id} ended at {entry.valid_to.isoformat()} before approval")
    entry.status, entry.approved_by, entry.approved_at = WatchStatus.active.value, supervisor.id, now
    audit.record(session, supervisor, "watch.approve", target=f"watch:{entry.id}", reason=reason or entry.reason)
    session.flush()
    record_change(session, entry, "approve", supervisor)
    return entry


def reject_watch(session: Session, supervisor: User, entry: WatchEntry, reason: str) -> WatchEntry:
    _check_second_user(session, supervisor, entry, "reject")
    if entry.status != WatchStatus.pending.value:
        raise WrongWatchState(f"watch {entry.id} is {entry.status}; only a pending watch can be rejected")
    if not reason.strip():
        raise InvalidInput("say why the watch is rejected")
    entry.status, entry.ended_at, entry.withdraw_reason = WatchStatus.rejected.value, utcnow(), reason.strip()
    entry.withdrawn_by = supervisor.id
    audit.record(session, supervisor, "watch.reject", target=f"watch:{entry.id}", reason=reason)
    session.flush()
    return entry


def request_withdrawal(session: Session, user: User, entry: WatchEntry, reason: str) -> WatchEntry:
    """Ask for an active watch to be stopped (vehicle found, case closed); an approver decides."""
    if not user.has_any(Role.officer, Role.approver):
        raise Forbidden("需由布控民警或审批人申请撤控 (an officer or approver asks for a withdrawal)")
    if entry.status != WatchStatus.active.value:
        raise WrongWatchState(f"watch {entry.id} is {entry.status}; only an active watch can be withdrawn")
    if not reason.strip():
        raise InvalidInput("请填写撤控原因 (say why the watch is withdrawn)")
    entry.withdraw_requested_by, entry.withdraw_requested_at = user.id, utcnow()
    entry.withdraw_request_reason = reason.strip()
    audit.record(session, user, "watch.withdraw_request", target=f"watch:{entry.id}", reason=reason)
    session.flush()
    return entry


def withdraw_watch(session: Session, supervisor: User, entry: WatchEntry, reason: str) -> WatchEntry:
    """Approve the pending withdrawal of an active watch; the index drops it right after the commit."""
    if entry.status != WatchStatus.active.value:
        raise WrongWatchState(f"watch {entry.id} is {entry.status}; only an active watch can be withdrawn")
    if entry.withdraw_requested_by is None:
        raise WrongWatchState(f"布控 {entry.id} 没有撤控申请，请先申请撤控 (ask for the withdrawal first)")
    _check_second_user(session, supervisor, entry, "withdraw", (entry.withdraw_requested_by,))
    reason = reason.strip() or (entry.withdraw_request_reason or "")
    entry.status, entry.ended_at = WatchStatus.withdrawn.value, utcnow()
    entry.withdrawn_by, entry.withdraw_reason = supervisor.id, reason.strip()
    audit.record(session, supervisor, "watch.withdraw", target=f"watch:{entry.id}", reason=reason)
    session.flush()
    record_change(session, entry, "withdraw", supervisor)
    return entry


def expire_due(session: Session, now: datetime | None = None) -> list[WatchEntry]:
    """Mark active watches whose validity has ended as expired (the matcher already ignores them), and log
    their removal from the index."""
    moment = now or utcnow()
    ids = list(session.scalars(
        update(WatchEntry)
        .where(WatchEntry.status == WatchStatus.active.value, WatchEntry.valid_to <= moment)
        .values(status=WatchStatus.expired.value, ended_at=moment)
        .returning(WatchEntry.id)
    ))
    entries = [get_watch(session, entry_id) for entry_id in ids]
    for entry in entries:
        session.refresh(entry)
        audit.record(session, None, "watch.expire", target=f"watch:{entry.id}", reason="validity ended",
                     actor_name="system")
        record_change(session, entry, "expire")
    return entries
