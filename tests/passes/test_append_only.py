"""The pass table refuses UPDATE always, and DELETE unless the retention job's setting is on."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from checkpoint.passes import store
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import captured


def test_update_is_refused_and_delete_only_for_retention(session: Session) -> None:
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    item = captured(checkpoint.id)
    raw = session.connection().connection.dbapi_connection
    store.insert_passes(raw, [item], {checkpoint.id: (checkpoint.lat, checkpoint.lon)}, item.captured_at)
    params = {"id": item.pass_id}
    for statement in ("UPDATE pass SET plate = 'X' WHERE id = :id", "DELETE FROM pass WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(statement), params)
    with session.begin_nested():
        session.execute(text("SET LOCAL checkpoint.retention = 'on'"))
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text("UPDATE pass SET plate = 'X' WHERE id = :id"), params)
        assert session.execute(text("DELETE FROM pass WHERE id = :id"), params).rowcount == 1  # type: ignore[attr-defined]  # CursorResult
