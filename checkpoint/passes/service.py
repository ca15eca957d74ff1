"""Reading stored passes: the recent ones for the live list, and a pass's images."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.errors import NotFound
from checkpoint.passes.models import Pass
from checkpoint.passes.schemas import PassPublic
from checkpoint.sites.models import Checkpoint

RECENT_WINDOW = timedelta(days=1)  # the live list looks back this far (keeps partition pruning tight)


class PassNotFound(NotFound):
    reason = "unknown-pass"


class ImageNotFound(NotFound):
    reason = "no-image"


def recent_passes(session: Session, now: datetime, *, checkpoint_code: str | None = None,
                  limit: int = 50) -> list[PassPublic]:
    """Newest first, from the last day; one checkpoint's when `checkpoint_code` is given."""
    query = (select(Pass, Checkpoint.code, Checkpoint.name).join(Checkpoint, Checkpoint.id == Pass.checkpoint_id)
             .where(Pass.captured_at > now - RECENT_WINDOW).order_by(Pass.captured_at.desc()).limit(limit))
    if checkpoint_code:
        checkpoint_id = session.scalar(select(Checkpoint.id).where(Checkpoint.code == checkpoint_code))
        if checkpoint_id is None:
            raise NotFound(f"checkpoint {checkpoint_code!r} is not registered")
        query = query.where(Pass.checkpoint_id == checkpoint_id)
    return [
        PassPublic(id=row.id, captured_at=row.captured_at, plate=row.plate, plate_colour=row.plate_colour,
                   plate_type=row.plate_type, checkpoint_id=row.checkpoint_id, checkpoint_code=code,
                   checkpoint_name=name, lane=row.lane, direction=row.direction, speed_kmh=row.speed_kmh,
                   lat=row.lat, lon=row.lon, has_scene=row.image_path is not None,
                   has_plate=row.plate_image_path is not None, received_at=row.received_at)
        for row, code, name in session.execute(query)
    ]


def image_file(session: Session, data_dir: Path, pass_id: uuid.UUID, kind: str) -> tuple[Path, str]:
    """The JPEG of a stored pass, `scene` (whole frame) or `plate` (crop), and the pass's plate (for the audit)."""
    row = session.execute(select(Pass.image_path, Pass.plate_image_path, Pass.plate)
                          .where(Pass.id == pass_id)).first()
    if row is None:
        raise PassNotFound(f"pass {pass_id} is not stored (or has expired)")
    relpath = row[0] if kind == "scene" else row[1]
    if relpath is None:
        raise ImageNotFound(f"pass {pass_id} has no {kind} image")
    path = (data_dir / relpath).resolve()
    if not path.is_relative_to(data_dir.resolve()) or not path.is_file():
        raise ImageNotFound(f"the {kind} image of pass {pass_id} is no longer on disk")
    return path, row[2]
