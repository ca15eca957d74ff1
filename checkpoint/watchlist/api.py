"""Watch routes for officers: register with a preview, list, submit, approve, reject, withdraw.

Each change commits in PostgreSQL first, then is mirrored into the Redis index every matcher reads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from checkpoint.core import audit
from checkpoint.core.deps import BusDep, SessionDep, client_ip, require_roles
from checkpoint.core.models import Role, User
from checkpoint.watchlist import index, service
from checkpoint.watchlist.alerts_api import router as alerts_router
from checkpoint.watchlist.models import WatchEntry
from checkpoint.watchlist.plates import parse_pattern
from checkpoint.watchlist.preview import preview
from checkpoint.watchlist.schemas import Decision, Preview, WatchCreate, WatchPattern, WatchPublic

router = APIRouter(prefix="/watchlist", tags=["watchlist"])
Officer = Annotated[User, Depends(require_roles(Role.officer))]


@router.post("/watches", response_model=WatchPublic, status_code=201)
def create_watch(body: WatchCreate, officer: Officer, request: Request, session: SessionDep) -> WatchEntry:
    """Register a watch; it is submitted for approval unless `submit` is false."""
    entry = service.create_watch(session, officer, body)
    session.commit()
    return entry


@router.get("/watches", response_model=list[WatchPublic])
def list_watches(_officer: Officer, session: SessionDep, status: str | None = None) -> list[WatchEntry]:
    return service.list_watches(session, status)


@router.get("/watches/{entry_id}", response_model=WatchPublic)
def read_watch(entry_id: int, _officer: Officer, session: SessionDep) -> WatchEntry:
    return service.get_watch(session, entry_id)


@router.post("/watches/{entry_id}/submit", response_model=WatchPublic)
def submit_watch(entry_id: int, officer: Officer, session: SessionDep) -> WatchEntry:
    entry = service.submit_watch(session, officer, service.get_watch(session, entry_id))
    session.commit()
    return entry


@router.post("/watches/{entry_id}/approve", response_model=WatchPublic)
def approve_watch(entry_id: int, body: Decision, officer: Officer, session: SessionDep, bus: BusDep) -> WatchEntry:
    """A second, supervising officer puts the watch in force on every matcher."""
    entry = service.approve_watch(session, officer, service.get_watch(session, entry_id), body.reason)
    session.commit()
    index.mirror(bus, entry)
    return entry


@router.post("/watches/{entry_id}/reject", response_model=WatchPublic)
def reject_watch(entry_id: int, body: Decision, officer: Officer, session: SessionDep) -> WatchEntry:
    entry = service.reject_watch(session, officer, service.get_watch(session, entry_id), body.reason)
    session.commit()
    return entry


@router.post("/watches/{entry_id}/withdraw", response_model=WatchPublic)
def withdraw_watch(entry_id: int, body: Decision, officer: Officer, session: SessionDep, bus: BusDep) -> WatchEntry:
    entry = service.withdraw_watch(session, officer, service.get_watch(session, entry_id), body.reason)
    session.commit()
    index.mirror(bus, entry)
    return entry


@router.post("/preview", response_model=Preview)
def preview_watch(body: WatchPattern, officer: Officer, request: Request, session: SessionDep,
                  days: int = 30) -> Preview:
    """The passes of the last `days` days the pattern would have matched (a plate search: audited)."""
    pattern = parse_pattern(body.match_mode, body.pattern, body.strictness)
    result = preview(session, pattern, body.plate_colour, days=min(max(days, 1), 30))
    audit.record(session, officer, "watch.preview", target=pattern.mode.value, client_ip=client_ip(request),
                 detail={"matched": result.matched})
    session.commit()
    return result


router.include_router(alerts_router)
