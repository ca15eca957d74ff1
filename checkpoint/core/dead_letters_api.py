"""Admin routes for dead letters: list them, a summary for the console header's badge, replay them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from checkpoint.core import audit, dead_letters
from checkpoint.core.deps import AdminUser, BusDep, SessionDep, client_ip

router = APIRouter(prefix="/dead-letters", tags=["dead-letters"])


class DeadLetterPublic(BaseModel):
    id: str
    stream: str
    original_id: str
    group: str
    reason: str
    dead_at: datetime
    fields: dict[str, str]


class DeadLetterSummary(BaseModel):
    count: int
    newest_at: datetime | None
    by_stream: dict[str, int]


class ReplayRequest(BaseModel):
    note: str = Field(default="", max_length=500)


class Replayed(BaseModel):
    id: str
    stream: str
    new_id: str


def _public(letter: dead_letters.DeadLetter) -> DeadLetterPublic:
    return DeadLetterPublic(id=letter.id, stream=letter.stream, original_id=letter.original_id, group=letter.group,
                            reason=letter.reason, dead_at=letter.dead_at, fields=letter.fields)


@router.get("", response_model=list[DeadLetterPublic])
def list_dead_letters(_admin: AdminUser, bus: BusDep, stream: str | None = None,
                      limit: int = Query(default=100, ge=1, le=1000)) -> list[DeadLetterPublic]:
    """Messages consumers gave up on, newest first, with their stream and reason."""
    return [_public(letter) for letter in dead_letters.list_dead(bus, stream, limit)]


@router.get("/summary", response_model=DeadLetterSummary)
def dead_letter_summary(_admin: AdminUser, bus: BusDep) -> DeadLetterSummary:
    """How many dead letters wait (the console's header badge for admins)."""
    found = dead_letters.summary(bus)
    return DeadLetterSummary(count=found.count, newest_at=found.newest_at, by_stream=found.by_stream)


@router.post("/{entry_id}/replay", response_model=list[Replayed])
def replay_dead_letter(entry_id: str, body: ReplayRequest, admin: AdminUser, bus: BusDep, session: SessionDep,
                       request: Request) -> list[Replayed]:
    """Put one dead letter back on its original stream (audited)."""
    letter, new_id = dead_letters.replay(bus, entry_id)
    _audit(session, admin, request, [(letter, new_id)], body.note)
    return [Replayed(id=letter.id, stream=letter.stream, new_id=new_id)]


@router.post("/replay", response_model=list[Replayed])
def replay_all_dead_letters(body: ReplayRequest, admin: AdminUser, bus: BusDep, session: SessionDep,
                            request: Request, stream: str | None = None) -> list[Replayed]:
    """Put every dead letter (of one original stream if given) back on its stream (audited)."""
    done = dead_letters.replay_all(bus, stream)
    _audit(session, admin, request, done, body.note)
    return [Replayed(id=letter.id, stream=letter.stream, new_id=new_id) for letter, new_id in done]


def _audit(session: SessionDep, admin: AdminUser, request: Request,
           done: list[tuple[dead_letters.DeadLetter, str]], note: str) -> None:
    for letter, new_id in done:
        audit.record(session, admin, "dead_letter.replay", target=f"{letter.stream}:{letter.original_id}",
                     reason=note or None, client_ip=client_ip(request),
                     detail={"dead_id": letter.id, "new_id": new_id, "group": letter.group,
                             "dead_reason": letter.reason[:200]})
    session.commit()
