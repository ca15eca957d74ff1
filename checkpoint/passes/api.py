"""Routes: recent passes and pass images for dispatchers, investigators and admins."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from checkpoint.core import audit
from checkpoint.core.db import utcnow
from checkpoint.core.deps import SessionDep, SettingsDep, client_ip, require_roles
from checkpoint.core.models import Role, User
from checkpoint.passes import service
from checkpoint.passes.schemas import PassPublic
from checkpoint.passes.search_api import router as search_router

router = APIRouter()
router.include_router(search_router)

PassViewer = Annotated[User, Depends(require_roles(Role.dispatcher, Role.investigator, Role.admin))]


@router.get("/passes/recent", response_model=list[PassPublic], tags=["passes"])
def recent_passes(_user: PassViewer, session: SessionDep,
                  checkpoint: Annotated[str | None, Query(max_length=32, description="a checkpoint code")] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[PassPublic]:
    """The newest passes of the last day, newest first (the console's live list)."""
    return service.recent_passes(session, utcnow(), checkpoint_code=checkpoint, limit=limit)


@router.get("/passes/{pass_id}/images/{kind}", response_class=FileResponse, tags=["passes"])
def pass_image(pass_id: uuid.UUID, kind: Literal["scene", "plate"], user: PassViewer, request: Request,
               session: SessionDep, settings: SettingsDep) -> FileResponse:
    """A pass's whole frame (`scene`) or plate crop (`plate`), as JPEG; each view is audited (the browser
    keeps it an hour, so a page shown again is not a second row)."""
    path, plate = service.image_file(session, settings.data_dir, pass_id, kind)
    audit.record(session, user, "pass.image.view", target=plate, client_ip=client_ip(request),
                 detail={"pass_id": str(pass_id), "kind": kind})
    session.commit()
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})
