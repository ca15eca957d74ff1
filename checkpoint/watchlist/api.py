"""Watch routes: officers register with a preview, list, submit and ask for withdrawals; approvers
approve, reject and approve withdrawals (core/duties.py: never their own, nor through a second account).

Approval and withdrawal commit the entry and its versioned change-log row together (a durable fact),
then bring the Redis index up to the database's version. If Redis is unreachable the answer is still
200 (the change is committed, and matchers apply it from PostgreSQL before their next batch) with
`in_force: false` and a notice; GET /index-status tells the console when it is in force.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from redis import Redis
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.deps import BusDep, SessionDep, client_ip, require_roles
from checkpoint.core.limits import DbId
from checkpoint.core.models import Role, User
from checkpoint.passes.search import check_reason
from checkpoint.watchlist import index, service, visibility
from checkpoint.watchlist.alerts_api import router as alerts_router
from checkpoint.watchlist.index_status import index_status, notice_after_change
from checkpoint.watchlist.models import WatchEntry, WatchStatus
from checkpoint.watchlist.plates import parse_pattern
from checkpoint.watchlist.preview import preview
from checkpoint.watchlist.schemas import (
    Decision,
    IndexStatus,
    Preview,
    PreviewRequest,
    WatchChanged,
    WatchCreate,
    WatchPublic,
)

router = APIRouter(prefix="/watchlist", tags=["watchlist"])
Officer = Annotated[User, Depends(require_roles(Role.officer))]
Approver = Annotated[User, Depends(require_roles(Role.approver))]
WatchReader = Annotated[User, Depends(require_roles(Role.officer, Role.approver))]


@router.post("/watches", response_model=WatchPublic, status_code=201)
def create_watch(body: WatchCreate, officer: Officer, request: Request, session: SessionDep) -> WatchEntry:
    """Register a watch; it is submitted for approval unless `submit` is false."""
    entry = service.create_watch(session, officer, body)
    session.commit()
    return entry


@router.get("/watches", response_model=list[WatchPublic])
def list_watches(reader: WatchReader, session: SessionDep, status: WatchStatus | None = None,
                 before_id: Annotated[DbId | None, Query(description="the last id of the previous page")] = None,
                 limit: Annotated[int, Query(ge=1, le=visibility.MAX_PAGE)] = visibility.DEFAULT_PAGE,
                 ) -> list[WatchEntry]:
    """Newest first, one page: an officer's own and their unit's watches; admins and approvers all."""
    return visibility.list_visible(session, reader, status=status, before_id=before_id, limit=limit)


@router.get("/watches/{entry_id}", response_model=WatchPublic)
def read_watch(entry_id: int, reader: WatchReader, session: SessionDep) -> WatchEntry:
    entry = service.get_watch(session, entry_id)
    if not visibility.may_see(session, reader, entry):
        raise service.WatchNotFound(f"watch {entry_id} does not exist")  # not 403: its existence is not told
    return entry


@router.post("/watches/{entry_id}/submit", response_model=WatchPublic)
def submit_watch(entry_id: int, officer: Officer, session: SessionDep) -> WatchEntry:
    entry = service.submit_watch(session, officer, service.get_watch(session, entry_id))
    session.commit()
    return entry


@router.post("/watches/{entry_id}/approve", response_model=WatchChanged)
def approve_watch(entry_id: int, body: Decision, officer: Approver, request: Request, session: SessionDep,
                  bus: BusDep) -> WatchChanged:
    """An approver (not the requester, nor an account of theirs) puts the watch in force on every matcher."""
    entry = _decide(service.approve_watch, "approve", entry_id, body, officer, request, session)
    session.commit()
    return _changed(entry, bus, session)


Decide = Callable[[Session, User, WatchEntry, str], WatchEntry]


def _decide(decide: Decide, step: str, entry_id: int, body: Decision, officer: User, request: Request,
            session: Session) -> WatchEntry:
    """Apply a supervisor's decision; a four-eyes refusal is audited too (who tried to decide what)."""
    entry = service.get_watch(session, entry_id)
    try:
        return decide(session, officer, entry, body.reason)
    except service.FourEyes as refused:  # raised before the entry is touched: only the audit row is written
        audit.record(session, officer, f"watch.{step}.refused", target=f"watch:{entry_id}",
                     reason=body.reason or None, client_ip=client_ip(request), detail={"why": str(refused)})
        session.commit()
        raise


def _changed(entry: WatchEntry, bus: Redis, session: Session) -> WatchChanged:
    """The committed entry, and whether the Redis index holds it yet (a notice if not)."""
    in_force = index.mirror(bus, session)
    return WatchChanged.model_validate({**WatchPublic.model_validate(entry).model_dump(), "in_force": in_force,
                                        "notice": None if in_force else notice_after_change(bus)})


@router.post("/watches/{entry_id}/reject", response_model=WatchPublic)
def reject_watch(entry_id: int, body: Decision, officer: Approver, request: Request,
                 session: SessionDep) -> WatchEntry:
    entry = _decide(service.reject_watch, "reject", entry_id, body, officer, request, session)
    session.commit()
    return entry


@router.post("/watches/{entry_id}/withdraw-request", response_model=WatchPublic)
def request_withdrawal(entry_id: int, body: Decision, user: WatchReader, session: SessionDep) -> WatchEntry:
    """Ask for an active watch to be withdrawn; it stays in force until an approver approves."""
    entry = service.request_withdrawal(session, user, service.get_watch(session, entry_id), body.reason)
    session.commit()
    return entry


@router.post("/watches/{entry_id}/withdraw", response_model=WatchChanged)
def withdraw_watch(entry_id: int, body: Decision, officer: Approver, request: Request, session: SessionDep,
                   bus: BusDep) -> WatchChanged:
    """An approver approves the pending withdrawal (asked for by someone else)."""
    entry = _decide(service.withdraw_watch, "withdraw", entry_id, body, officer, request, session)
    session.commit()
    return _changed(entry, bus, session)


@router.get("/index-status", response_model=IndexStatus)
def read_index_status(_officer: WatchReader, session: SessionDep, bus: BusDep) -> IndexStatus:
    """The change log's version, the Redis index's and each live matcher's: is every change in force?"""
    return index_status(bus, session)


@router.post("/preview", response_model=Preview)
def preview_watch(body: PreviewRequest, officer: Officer, request: Request, session: SessionDep,
                  days: int = 30) -> Preview:
    """The passes of the last `days` days the pattern would have matched: a plate search, so it states
    a reason and the audit row names the pattern searched."""
    stated = check_reason(body.reason)
    pattern = parse_pattern(body.match_mode, body.pattern, body.strictness)
    result = preview(session, pattern, body.plate_colour, days=min(max(days, 1), 30))
    audit.record(session, officer, "watch.preview", target=pattern.text, reason=stated, client_ip=client_ip(request),
                 detail={"mode": pattern.mode.value, "strictness": pattern.strictness.value,
                         "plate_colour": body.plate_colour, "days": result.days, "matched": result.matched,
                         "plates": sorted({found.plate for found in result.passes})[:50]})
    session.commit()
    return result


router.include_router(alerts_router)
