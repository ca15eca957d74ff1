"""Routes (admin): the registry of video feeds, and CSV import and export of every camera; each change audited.

A feed added, changed or disabled here is picked up by `checkpoint capture run` within seconds
(Supervisor.sync), without a restart; device changes reach the push and GA/T 1400 routes within
their cache times (at once in this process).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from checkpoint.capture import registry, service
from checkpoint.capture.viid.service import directory as viid_directory
from checkpoint.core import audit
from checkpoint.core.deps import AdminUser, SessionDep, SettingsDep, client_ip
from checkpoint.core.errors import InvalidInput, NotFound
from checkpoint.sites.models import Checkpoint, Feed

router = APIRouter(tags=["devices"])
VideoKind = Literal["rtsp", "http", "file"]


class FeedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkpoint: str = Field(min_length=1, max_length=32, description="the checkpoint's code")
    lane: int = Field(ge=1, le=16)
    direction: Literal["in", "out"] = "in"
    kind: VideoKind
    source: str = Field(min_length=1, max_length=2000, description="rtsp://user:password@host/..., http(s)://..., "
                                                                    "or a file path; the password is never shown")
    rtsp_transport: Literal["tcp", "udp"] | None = Field(default=None, description="none: the site's default")
    name: str = Field(default="", max_length=128)
    enabled: bool = True


class FeedUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    source: str | None = Field(default=None, min_length=1, max_length=2000)
    rtsp_transport: Literal["tcp", "udp"] | None = None
    name: str | None = Field(default=None, max_length=128)


class FeedPublic(BaseModel):
    id: int
    checkpoint_code: str
    lane: int
    direction: str
    kind: str
    source: str  # its password masked
    rtsp_transport: str | None
    name: str
    enabled: bool


class ImportError_(BaseModel):
    line: int
    reason: str


class ImportResult(BaseModel):
    added: int
    changed: int
    unchanged: int
    errors: list[ImportError_]


def _public(feed: Feed, code: str) -> FeedPublic:
    return FeedPublic(id=feed.id, checkpoint_code=code, lane=feed.lane, direction=feed.direction, kind=feed.kind,
                      source=registry.masked_source(feed.source), rtsp_transport=feed.rtsp_transport, name=feed.name,
                      enabled=feed.enabled)


@router.get("/feeds", response_model=list[FeedPublic])
def list_feeds(_admin: AdminUser, session: SessionDep) -> list[FeedPublic]:
    rows = session.execute(select(Feed, Checkpoint.code).join(Checkpoint, Checkpoint.id == Feed.checkpoint_id)
                           .where(Feed.kind.in_(registry.VIDEO_KINDS)).order_by(Checkpoint.code, Feed.lane)).all()
    return [_public(feed, code) for feed, code in rows]


@router.post("/feeds", response_model=FeedPublic, status_code=201)
def add_feed(body: FeedCreate, admin: AdminUser, request: Request, session: SessionDep,
             settings: SettingsDep) -> FeedPublic:
    """Register a video feed on a checkpoint lane; capture starts it within seconds."""
    report = registry.import_rows(session, [{
        "checkpoint": body.checkpoint, "lane": str(body.lane), "direction": body.direction, "kind": body.kind,
        "source": body.source, "rtsp_transport": body.rtsp_transport or "", "name": body.name,
        "enabled": "1" if body.enabled else "0"}], settings.intake.digest_realm)
    if report.errors:
        raise InvalidInput(report.errors[0][1])
    feed, code = session.execute(
        select(Feed, Checkpoint.code).join(Checkpoint, Checkpoint.id == Feed.checkpoint_id)
        .where(Checkpoint.code == body.checkpoint, Feed.lane == body.lane, Feed.direction == body.direction,
               Feed.kind == body.kind)).one()
    audit.record(session, admin, "feed.add" if report.added else "feed.change", target=f"feed:{feed.id}",
                 detail={"checkpoint": code, "lane": feed.lane, "kind": feed.kind,
                         "source": registry.masked_source(feed.source)}, client_ip=client_ip(request))
    session.commit()
    return _public(feed, code)


@router.patch("/feeds/{feed_id:int}", response_model=FeedPublic)  # (not /feeds/status: a 405 there)
def update_feed(feed_id: int, body: FeedUpdate, admin: AdminUser, request: Request,
                session: SessionDep) -> FeedPublic:
    """Enable, disable or repoint a feed; capture follows within seconds."""
    feed = session.get(Feed, feed_id)
    if feed is None or feed.kind not in registry.VIDEO_KINDS:
        raise NotFound(f"视频源 {feed_id} 不存在")
    changes = body.model_dump(exclude_unset=True)
    if "source" in changes:
        changes["source"] = registry.unmasked_source(changes["source"], feed.source)
    for name, value in changes.items():
        setattr(feed, name, value)
    session.flush()
    code = session.scalar(select(Checkpoint.code).where(Checkpoint.id == feed.checkpoint_id)) or ""
    shown = {name: registry.masked_source(value) if name == "source" else value for name, value in changes.items()}
    audit.record(session, admin, "feed.change", target=f"feed:{feed.id}", detail=shown, client_ip=client_ip(request))
    session.commit()
    return _public(feed, code)


@router.get("/registry.csv", response_class=Response)
def export_registry(admin: AdminUser, request: Request, session: SessionDep) -> Response:
    """Every feed and device, one row per camera lane (passwords hidden): the file an import takes back."""
    rows = registry.export_rows(session)
    audit.record(session, admin, "registry.export", detail={"rows": len(rows)}, client_ip=client_ip(request))
    session.commit()
    return Response("\ufeff" + registry.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="checkpoint-registry.csv"'})


@router.post("/registry/import", response_model=ImportResult)
def import_registry(
    raw: Annotated[bytes, Body(media_type="text/csv", description="the CSV (columns as registry.COLUMNS), "
                                                                   "UTF-8 or GB18030 as spreadsheets save it")],
    admin: AdminUser, request: Request, session: SessionDep, settings: SettingsDep,
) -> ImportResult:
    """Apply every good row; each wrong row is reported by its line with the reason. Every change is audited."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    try:
        rows = registry.read_csv(text)
    except registry.RowRefused as exc:
        raise InvalidInput(str(exc)) from None
    report = registry.import_rows(session, rows, settings.intake.digest_realm)
    audit.record(session, admin, "registry.import", detail=registry.audit_detail(report),
                 client_ip=client_ip(request))  # every change, by line and target
    session.commit()
    service.forget_cached_keys()
    viid_directory.forget()
    return ImportResult(added=report.added, changed=report.changed, unchanged=report.unchanged,
                        errors=[ImportError_(line=line, reason=reason) for line, reason in report.errors])
