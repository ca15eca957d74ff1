"""Hand-made passes for trajectory tests, on the real Huizhou checkpoints and road graph."""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.passes.models import Pass
from checkpoint.passes.partitions import ensure_day_partitions
from checkpoint.sites.models import Checkpoint

AddPass = Callable[..., Pass]


def random_plate() -> str:
    """A plausible Guangdong plate no other test uses."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "粤L" + random.choice(letters) + "".join(secrets.choice("0123456789") for _ in range(4))


@pytest.fixture
def quiet_day() -> datetime:
    """Midnight UTC of a random day long ago, so population analyses see only this test's passes."""
    day = date(2001, 1, 1) + timedelta(days=random.randrange(0, 20 * 365))
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture
def checkpoints(session: Session) -> list[Checkpoint]:
    return list(session.scalars(select(Checkpoint).order_by(Checkpoint.id)))


@pytest.fixture
def add_pass(session: Session, checkpoints: list[Checkpoint]) -> AddPass:
    """Insert one pass (creating its day partition) and return it."""
    by_id = {cp.id: cp for cp in checkpoints}
    made_days: set[date] = set()

    def add(plate: str, at: datetime, checkpoint_id: int, *, colour: str = "blue", kind: str = "small",
            image: str | None = None) -> Pass:
        if at.date() not in made_days:
            ensure_day_partitions(session.connection(), at.date(), at.date())
            made_days.add(at.date())
        site = by_id[checkpoint_id]
        new_pass = Pass(id=uuid.uuid4(), captured_at=at, plate=plate, plate_colour=colour, plate_type=kind,
                        confidence=0.95, checkpoint_id=checkpoint_id, lane=1, direction="in", lat=site.lat,
                        lon=site.lon, image_path=image or f"images/{uuid.uuid4()}.jpg", plate_image_path=None)
        session.add(new_pass)
        session.flush()
        return new_pass

    return add
