"""The restore drill: `checkpoint backup`, then `checkpoint restore` into an empty database; passes,
watches, alerts, the audit log and every image come back and verify against the backup's manifest."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.backup import MANIFEST, restore
from checkpoint.core import users
from checkpoint.core.errors import Conflict
from checkpoint.core.models import AuditEntry
from checkpoint.core.settings_groups import WatchlistSettings
from checkpoint.passes import images
from checkpoint.passes.models import Pass
from checkpoint.passes.partitions import ensure_day_partitions
from checkpoint.passes.record import CapturedPass, PassEvent
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import alerts, service
from checkpoint.watchlist.models import HitAlert, WatchEntry
from checkpoint.watchlist.schemas import WatchCreate
from tests.capture.helpers import jpeg

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def empty_database(engine: Engine) -> Iterator[str]:
    """The URL of a new, empty database on the run's server (dropped afterwards)."""
    name = f"checkpoint_restore_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield engine.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def cli(*args: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHECKPOINT_DATABASE_URL": database_url,
           "CHECKPOINT_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "checkpoint", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_a_backup_restores_into_an_empty_database_and_verifies(engine: Engine, sessions: sessionmaker[Session],
                                                               empty_database: str, tmp_path: Path) -> None:
    source_dir, target_dir = tmp_path / "source", tmp_path / "target"
    now = datetime.now(UTC)
    with sessions() as session:  # committed: the backup reads what another connection sees
        checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
        assert checkpoint is not None
        officer = users.create(session, username=f"drill{secrets.token_hex(3)}", password="Drill-password-1",
                               roles=["officer"])
        session.flush()
        plate = "粤L" + "".join(secrets.choice("0123456789") for _ in range(5))
        watch = service.create_watch(session, officer, WatchCreate(pattern=plate, category="stolen",
                                                                   reason="restore drill", submit=False))
        photo = jpeg(seed=7)
        relpath = images.image_relpath(now, checkpoint.code, uuid.uuid4(), "scene")
        assert images.write_image(source_dir, relpath, photo)
        ensure_day_partitions(session.connection(), now.date(), now.date())
        stored = Pass(id=uuid.uuid4(), captured_at=now, plate=plate, plate_colour="blue", plate_type="small",
                      confidence=0.9, checkpoint_id=checkpoint.id, lane=1, direction="in", lat=checkpoint.lat,
                      lon=checkpoint.lon, image_path=relpath)
        session.add(stored)
        captured = CapturedPass(pass_id=stored.id, checkpoint_id=checkpoint.id, plate=plate, captured_at=now,
                                plate_colour="blue", image_path=relpath, source="test")
        hit = alerts.Hit(PassEvent(captured=captured, lat=checkpoint.lat, lon=checkpoint.lon), watch.id,
                         "exact", checkpoint.district)
        alert = alerts.record_hit(session, hit, WatchlistSettings(), data_dir=source_dir).alert
        session.commit()
        pass_id, watch_id, alert_id = stored.id, watch.id, alert.id

    source_url = engine.url.render_as_string(hide_password=False)
    made = cli("backup", str(tmp_path / "backups"), database_url=source_url, data_dir=source_dir)
    assert made.returncode == 0, made.stderr[-3000:]
    [folder] = (tmp_path / "backups").iterdir()
    assert (folder / MANIFEST).is_file()

    restored = cli("restore", str(folder), database_url=empty_database, data_dir=target_dir)
    assert restored.returncode == 0, restored.stderr[-3000:]
    assert "restored and verified" in restored.stdout

    target = create_engine(empty_database)
    try:
        with Session(target) as session:
            again = session.scalars(select(Pass).where(Pass.id == pass_id)).one()
            assert again.plate == plate and again.image_path == relpath
            restored_watch = session.get(WatchEntry, watch_id)
            assert restored_watch is not None and restored_watch.pattern == plate
            restored_alert = session.get(HitAlert, alert_id)
            assert restored_alert is not None and restored_alert.entry_id == watch_id
            assert (session.scalar(select(func.count()).select_from(AuditEntry)) or 0) >= 1
        assert (target_dir / relpath).read_bytes() == photo
        with pytest.raises(Conflict, match="not empty"):  # a second restore would mix two histories
            restore(empty_database, target_dir, folder)
    finally:
        target.dispose()


def test_a_damaged_backup_is_refused(engine: Engine, empty_database: str, tmp_path: Path) -> None:
    made = cli("backup", str(tmp_path), database_url=engine.url.render_as_string(hide_password=False),
               data_dir=tmp_path / "data")
    assert made.returncode == 0, made.stderr[-3000:]
    [folder] = [path for path in tmp_path.iterdir() if path.name.startswith("checkpoint-backup-")]
    with (folder / "database.dump").open("r+b") as dump:
        dump.seek(100)
        dump.write(b"\x00damaged\x00")
    refused = cli("restore", str(folder), database_url=empty_database, data_dir=tmp_path / "target")
    assert refused.returncode == 1 and "checksum" in refused.stderr
