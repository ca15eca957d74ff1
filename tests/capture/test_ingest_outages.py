"""Ingest through outages: pushes go on while PostgreSQL is down; 503 with Retry-After while Redis is.

An unwritable data directory costs a pass its images, never the pass (a snapshot, whose photo is the
pass, gets 503).
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture import service
from checkpoint.capture.api import get_session_opener
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.capture.snapshots import SNAPSHOTS_STREAM
from checkpoint.core.bus import READS_STREAM, get_bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import Database, get_session, make_engine
from checkpoint.core.errors import RETRY_AFTER_S
from checkpoint.core.postgres_process import PostgresServer
from checkpoint.core.redis_process import RedisServer
from checkpoint.passes.models import Pass
from checkpoint.passes.record import CapturedPass
from checkpoint.passes.writer import PassWriter
from checkpoint.runtime import prepare_database
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import jpeg, push_body
from tests.waiting import wait_until

PASSES = "/api/v1/ingest/passes"
SNAPSHOTS = "/api/v1/ingest/snapshots"


@pytest.fixture
def own_postgres(test_settings: Settings) -> Iterator[tuple[PostgresServer, Engine]]:
    """A PostgreSQL of the test's own (to stop), migrated and loaded like a site's.

    Its folder is not under pytest's tmp_path: pytest keeps that tree's root private to root (0700,
    re-applied by every pytest run on the machine), and the server runs as an unprivileged user.
    """
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="checkpoint-pg-outage-")))
    server.start()
    own = make_engine(server.url, pool_size=5)
    saved = Database.engine, Database.sessions
    Database.engine, Database.sessions = own, sessionmaker(bind=own, expire_on_commit=False)
    try:
        prepare_database(test_settings, own)  # works on Database's engine: the run's is put back below
    finally:
        Database.engine, Database.sessions = saved
    try:
        yield server, own
    finally:
        own.dispose()
        server.remove()
        service.forget_cached_keys()  # the next test asks its own database again at once


def assert_unavailable(response: Any, reason: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 503 and problem["reason"] == reason
    assert "请稍后重试" in problem["detail"]  # Chinese first, for the staff reading a camera's log


def test_ingest_accepts_pushes_while_postgresql_is_down(
        own_postgres: tuple[PostgresServer, Engine], bus: redis_lib.Redis, test_settings: Settings) -> None:
    server, own = own_postgres
    sessions = sessionmaker(bind=own, expire_on_commit=False)
    with sessions() as db:
        checkpoint = db.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
        assert checkpoint is not None
        known, known_key = service.register_device(db, DeviceCreate(code="OUTAGE-KNOWN", checkpoint=checkpoint.code))
        _camera, snapshot_key = service.register_device(db, DeviceCreate(code="OUTAGE-SNAP", checkpoint=checkpoint.code,
                                                                         kind="snapshot"))
        db.commit()
    service.forget_cached_keys()

    from checkpoint.main import create_app

    app = create_app()
    app.dependency_overrides[get_session_opener] = lambda: sessions

    def own_session() -> Iterator[Session]:
        with sessions() as db:
            yield db

    app.dependency_overrides[get_session] = own_session
    app.dependency_overrides[get_settings] = lambda: test_settings
    app.dependency_overrides[get_bus] = lambda: bus
    writer = PassWriter(own, bus, consumer="t-outage-writer", block_ms=50, claim_idle_ms=300)
    stop = threading.Event()
    writing = threading.Thread(target=writer.run, args=(stop,), name="t-outage-writer")
    accepted: list[str] = []

    def push(n: int, **extra: Any) -> None:
        response = client.post(PASSES, json=push_body(known.code, record_id=f"OUT-{n}", **extra),
                               headers={"X-Device-Key": known_key})
        assert response.status_code == 202, response.text
        accepted.append(response.json()["pass_id"])

    with TestClient(app) as client:
        writing.start()
        try:
            push(0)  # every active key is loaded, and vouched for
            with sessions() as db:  # a device registered since: its key was never seen by this process
                _unseen, unseen_key = service.register_device(db, DeviceCreate(code="OUTAGE-UNSEEN",
                                                                               checkpoint=checkpoint.code))
                db.commit()
            server.stop_immediate()
            service.forget_cached_keys()  # as if the key cache had run out: each push must ask the database
            for n in range(1, 21):
                push(n, images=n % 2 == 0)
            snapshot = client.post(SNAPSHOTS, content=jpeg(), params={"lane": 1, "direction": "in"},
                                   headers={"X-Device-Key": snapshot_key, "Content-Type": "image/jpeg"})
            assert snapshot.status_code == 202, snapshot.text  # snapshot ingest goes on too
            assert_unavailable(client.post(PASSES, json=push_body("OUTAGE-UNSEEN"),
                                           headers={"X-Device-Key": unseen_key}), "device-keys-unavailable")
            # any other route that needs the database: a 503 problem from the app-wide handler, not a 500
            assert_unavailable(client.post("/api/v1/auth/login", json={"username": "admin", "password": "x"}),
                               "database-unavailable")
            server.start()
            ids = [uuid.UUID(pass_id) for pass_id in accepted]

            def stored() -> dict[uuid.UUID, int]:
                with sessions() as db:
                    rows = db.execute(select(Pass.id, func.count()).where(Pass.id.in_(ids)).group_by(Pass.id))
                    return {pass_id: count for pass_id, count in rows.all()}

            wait_until(lambda: len(stored()) == len(ids), timeout_s=60, what="the writer to store every push")
        finally:
            stop.set()
            writing.join(timeout=30)
    assert len(set(ids)) == 21
    assert stored() == dict.fromkeys(ids, 1)  # every accepted push stored exactly once


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


def test_pushes_get_503_with_retry_after_while_redis_is_down(
        client: TestClient, session: Session, own_redis: RedisServer, test_settings: Settings) -> None:
    checkpoint = session.scalars(select(Checkpoint).where(Checkpoint.lanes >= 1).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    smart, smart_key = service.register_device(session, DeviceCreate(code=f"R-SMART-{uuid.uuid4().hex[:8]}",
                                                                     checkpoint=checkpoint.code))
    _snap, snap_key = service.register_device(session, DeviceCreate(code=f"R-SNAP-{uuid.uuid4().hex[:8]}",
                                                                    checkpoint=checkpoint.code, kind="snapshot"))
    own = own_redis.client()
    client.app.dependency_overrides[get_bus] = lambda: own  # type: ignore[attr-defined]  # TestClient.app is the app

    def push_pass() -> Any:
        return client.post(PASSES, json=push_body(smart.code), headers={"X-Device-Key": smart_key})

    def push_snapshot() -> Any:
        return client.post(SNAPSHOTS, content=jpeg(), params={"lane": 1, "direction": "in"},
                           headers={"X-Device-Key": snap_key, "Content-Type": "image/jpeg"})

    assert push_pass().status_code == 202 and push_snapshot().status_code == 202
    images_before = set((test_settings.data_dir / "images").rglob("*.jpg"))
    own_redis.kill()
    assert_unavailable(push_pass(), "redis-unavailable")
    assert_unavailable(push_snapshot(), "redis-unavailable")
    assert set((test_settings.data_dir / "images").rglob("*.jpg")) == images_before  # none left behind
    own_redis.start()
    own_redis.wait_up()
    own.config_set("maxmemory", 1)  # back (redis-py reconnects by itself), but full: writes refused (OOM)
    assert_unavailable(push_pass(), "redis-unavailable")
    own.config_set("maxmemory", 0)
    after_pass, after_snapshot = push_pass(), push_snapshot()  # accepted again
    assert after_pass.status_code == 202 and after_snapshot.status_code == 202
    assert after_pass.json()["images_stored"] is True
    last_read: Any = own.xrevrange(READS_STREAM, count=1)
    assert str(CapturedPass.from_fields(last_read[0][1]).pass_id) == after_pass.json()["pass_id"]
    last_snapshot: Any = own.xrevrange(SNAPSHOTS_STREAM, count=1)
    assert last_snapshot[0][1]["snapshot_id"] == after_snapshot.json()["snapshot_id"]


def test_a_push_is_accepted_without_its_images_while_the_data_dir_is_unwritable(
        client: TestClient, session: Session, bus: redis_lib.Redis, tmp_path: Path, test_settings: Settings) -> None:
    """The pass comes first (a watch must still hit); a snapshot, whose photo is the pass, gets 503."""
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    smart, smart_key = service.register_device(session, DeviceCreate(code=f"D-SMART-{uuid.uuid4().hex[:8]}",
                                                                     checkpoint=checkpoint.code))
    _snap, snap_key = service.register_device(session, DeviceCreate(code=f"D-SNAP-{uuid.uuid4().hex[:8]}",
                                                                    checkpoint=checkpoint.code, kind="snapshot"))
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("nothing can be created under a regular file, not even by root")
    unwritable = test_settings.model_copy(update={"data_dir": a_file / "data"})
    client.app.dependency_overrides[get_settings] = lambda: unwritable  # type: ignore[attr-defined]  # the app

    response = client.post(PASSES, json=push_body(smart.code), headers={"X-Device-Key": smart_key})
    assert response.status_code == 202, response.text
    assert response.json()["images_stored"] is False
    last: Any = bus.xrevrange(READS_STREAM, count=1)
    captured = CapturedPass.from_fields(last[0][1])
    assert str(captured.pass_id) == response.json()["pass_id"]
    assert captured.image_path is None and captured.plate_image_path is None  # no path to a file that is not there
    snapshot = client.post(SNAPSHOTS, content=jpeg(), params={"lane": 1, "direction": "in"},
                           headers={"X-Device-Key": snap_key, "Content-Type": "image/jpeg"})
    assert_unavailable(snapshot, "image-storage-unavailable")
    assert not bus.exists(SNAPSHOTS_STREAM)
