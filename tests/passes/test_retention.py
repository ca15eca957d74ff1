"""Retention: class 1 keeps 30 days, class 2 keeps 15; whole partitions and image folders go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.config import Settings
from checkpoint.passes import partitions, store
from checkpoint.passes.images import image_relpath
from checkpoint.passes.record import CapturedPass
from checkpoint.passes.retention import run_retention
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import captured


def _checkpoint(sessions: sessionmaker[Session], retention_class: int) -> Checkpoint:
    with sessions() as session:
        found = session.scalars(select(Checkpoint).where(Checkpoint.retention_class == retention_class)
                                .order_by(Checkpoint.id)).first()
        assert found is not None
        return found


def _store(engine: Engine, data_dir: Path, checkpoint: Checkpoint, item: CapturedPass) -> None:
    with engine.connect() as conn:
        day = item.captured_at.date()
        partitions.ensure_day_partitions(conn, day, day)
        store.insert_passes(conn.connection.dbapi_connection, [item], {checkpoint.id: (checkpoint.lat, checkpoint.lon)},
                            item.captured_at)
        conn.commit()
    path = data_dir / image_relpath(item.captured_at, checkpoint.code, item.pass_id, "scene")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff")


def _present(engine: Engine, item: CapturedPass) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1 FROM pass WHERE id = :id"), {"id": item.pass_id}).first() is not None


def test_passes_and_images_older_than_their_class_are_removed(engine: Engine, sessions: sessionmaker[Session],
                                                              tmp_path: Path) -> None:
    now = datetime.now(UTC)
    long_cp, short_cp = _checkpoint(sessions, 1), _checkpoint(sessions, 2)
    ages = {"long_31": (long_cp, 31), "long_29": (long_cp, 29), "short_16": (short_cp, 16),
            "short_14": (short_cp, 14), "short_31": (short_cp, 31)}
    items = {name: captured(cp.id, when=now - timedelta(days=days)) for name, (cp, days) in ages.items()}
    for name, item in items.items():
        _store(engine, tmp_path, ages[name][0], item)

    report = run_retention(engine, tmp_path, now=now)

    kept = {name for name, item in items.items() if _present(engine, item)}
    assert kept == {"long_29", "short_14"}
    assert partitions.partition_name((now - timedelta(days=31)).date()) in report.dropped_partitions
    assert report.deleted_rows >= 1
    on_disk = {name for name, item in items.items()
               if (tmp_path / image_relpath(item.captured_at, ages[name][0].code, item.pass_id, "scene")).exists()}
    assert on_disk == {"long_29", "short_14"}
    with engine.connect() as conn:
        assert partitions.partition_name((now - timedelta(days=29)).date()) in partitions.list_partitions(conn)
    again = run_retention(engine, tmp_path, now=now)
    assert again.deleted_rows == 0 and not again.dropped_partitions


def test_retention_days_are_configurable(engine: Engine, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    now = datetime.now(UTC)
    long_cp, short_cp = _checkpoint(sessions, 1), _checkpoint(sessions, 2)
    long_9 = captured(long_cp.id, when=now - timedelta(days=9))
    short_9, short_3 = (captured(short_cp.id, when=now - timedelta(days=days)) for days in (9, 3))
    for checkpoint, item in ((long_cp, long_9), (short_cp, short_9), (short_cp, short_3)):
        _store(engine, tmp_path, checkpoint, item)
    run_retention(engine, tmp_path, now=now, days_by_class={1: 40, 2: 5})
    assert _present(engine, long_9) and _present(engine, short_3) and not _present(engine, short_9)


def test_retention_days_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKPOINT_RETENTION__DAYS_CLASS1", "45")
    monkeypatch.setenv("CHECKPOINT_RETENTION__DAYS_CLASS2", "20")
    assert Settings().retention.days_by_class() == {1: 45, 2: 20}
    monkeypatch.delenv("CHECKPOINT_RETENTION__DAYS_CLASS1")
    monkeypatch.delenv("CHECKPOINT_RETENTION__DAYS_CLASS2")
    assert Settings().retention.days_by_class() == {1: 30, 2: 15}
    monkeypatch.setenv("CHECKPOINT_RETENTION__DAYS_CLASS2", "1")  # less than the one-day ingest margin
    with pytest.raises(ValidationError, match="greater than or equal to 2"):
        Settings()
