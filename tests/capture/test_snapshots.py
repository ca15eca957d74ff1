"""Snapshot cameras push JPEGs: queued by the API, read by LPR workers, stored once as passes."""

from __future__ import annotations

import csv
import json
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from checkpoint.capture import service
from checkpoint.capture.models import Device as DeviceRow
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.capture.snapshot_worker import GROUP, SnapshotPool, SnapshotReader, snapshots_waiting
from checkpoint.capture.snapshots import SNAPSHOTS_STREAM, QueuedSnapshot
from checkpoint.capture.video import cli as capture_cli
from checkpoint.core.bus import READS_STREAM, ensure_group
from checkpoint.core.config import Settings, get_settings
from checkpoint.lpr import PlateEngine, make_plate_engine
from checkpoint.passes.models import Pass
from checkpoint.passes.record import CapturedPass
from checkpoint.passes.writer import GROUP as WRITER_GROUP
from checkpoint.passes.writer import PassWriter
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import entries, jpeg, png
from tests.waiting import wait_until

URL = "/api/v1/ingest/snapshots"
SCENES = next((folder / "shared" / "data" for folder in Path(__file__).resolve().parents
               if (folder / "shared" / "data").is_dir()), Path("/nonexistent")) / "plates-dev" / "ccpd_scenes"
Device = tuple[str, str, Checkpoint]


@pytest.fixture
def snapshot_device(session: Session) -> Iterator[Device]:
    """(device code, API key, checkpoint) of a snapshot camera on lanes 1-2, registered in the test's transaction."""
    checkpoint = session.scalars(select(Checkpoint).where(Checkpoint.lanes >= 2).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    code = f"SNAP-{datetime.now(UTC):%H%M%S%f}"
    registered, key = service.register_device(session, DeviceCreate(code=code, checkpoint=checkpoint.code,
                                                                    lanes=[1, 2], kind="snapshot"))
    yield registered.code, key, checkpoint


@pytest.fixture(scope="module")
def plate_engine() -> PlateEngine:
    return make_plate_engine()


def real_photo(index: int = 0) -> tuple[bytes, str]:
    """A real CCPD scene and its plate; the test is skipped where the shared data is absent."""
    labels = SCENES / "labels.csv"
    if not labels.exists():
        pytest.skip(f"no real plate photos at {SCENES}")
    with labels.open(encoding="utf-8") as handle:
        row = list(csv.DictReader(handle))[index]
    return (SCENES / row["file"]).read_bytes(), row["plate"]


def push(client: TestClient, key: str, image: bytes, **params: Any) -> Any:
    query = {"lane": 1, "direction": "in", **params}
    return client.post(URL, content=image, params=query,
                       headers={"X-Device-Key": key, "Content-Type": "image/jpeg"})


def queued(bus: redis_lib.Redis) -> list[QueuedSnapshot]:
    return [QueuedSnapshot.from_fields(fields) for _, fields in entries(bus, SNAPSHOTS_STREAM)]


def passes_on_reads(bus: redis_lib.Redis) -> list[CapturedPass]:
    return [CapturedPass.from_fields(fields) for _, fields in entries(bus, READS_STREAM)]


def image_files(settings: Settings) -> set[Path]:
    return set((settings.data_dir / "images").rglob("*.jpg"))


def test_a_pushed_photo_becomes_a_stored_pass_with_its_plate(
        client: TestClient, bus: redis_lib.Redis, snapshot_device: Device, test_settings: Settings,
        plate_engine: PlateEngine, engine: Engine, sessions: sessionmaker[Session]) -> None:
    _code, key, checkpoint = snapshot_device
    photo, plate = real_photo(0)
    taken_at = datetime.now(UTC) - timedelta(seconds=3)
    response = push(client, key, photo, lane=2, taken_at=taken_at.isoformat())
    assert response.status_code == 202, response.text
    assert passes_on_reads(bus) == []  # nothing is read inline
    [snapshot] = queued(bus)
    assert str(snapshot.snapshot_id) == response.json()["snapshot_id"]
    assert (test_settings.data_dir / snapshot.image_path).read_bytes() == photo

    reader = SnapshotReader(plate_engine, bus, test_settings.data_dir, "t-snap")
    assert reader.step(block_ms=10) == 1
    [captured] = passes_on_reads(bus)
    assert captured.plate == plate and captured.source == "snapshot"
    assert captured.pass_id == snapshot.snapshot_id and captured.checkpoint_id == checkpoint.id
    assert captured.lane == 2 and captured.direction == "in" and captured.captured_at == taken_at
    assert captured.vehicle_colour == "white"  # scene 0 is a white car (labelled by eye, issue 18)
    assert captured.plate_image_path is not None
    assert (test_settings.data_dir / captured.plate_image_path).read_bytes()[:3] == b"\xff\xd8\xff"
    assert bus.xpending(SNAPSHOTS_STREAM, GROUP)["pending"] == 0

    ensure_group(bus, READS_STREAM, WRITER_GROUP)
    assert PassWriter(engine, bus, consumer="t-snap-writer", block_ms=10).step() == 1
    with sessions() as db:
        row = db.get(Pass, (captured.pass_id, captured.captured_at))
        assert row is not None and row.plate == plate and row.image_path == snapshot.image_path
        assert row.vehicle_colour == "white"


def test_the_same_plate_within_the_repeat_window_is_one_pass(
        client: TestClient, bus: redis_lib.Redis, snapshot_device: Device, test_settings: Settings,
        plate_engine: PlateEngine) -> None:
    _code, key, _checkpoint = snapshot_device
    photo, plate = real_photo(1)
    now = datetime.now(UTC)
    for seconds in (-20, -5):  # two shots of one vehicle, 15 s apart
        assert push(client, key, photo, taken_at=(now + timedelta(seconds=seconds)).isoformat()).status_code == 202
    first, second = queued(bus)
    reader = SnapshotReader(plate_engine, bus, test_settings.data_dir, "t-repeat")
    assert reader.step(block_ms=10) == 2
    assert [item.plate for item in passes_on_reads(bus)] == [plate]
    assert reader.counts.repeats == 1
    assert (test_settings.data_dir / first.image_path).exists()
    assert not (test_settings.data_dir / second.image_path).exists()  # the repeat's image is not kept


def test_a_snapshot_left_by_a_killed_worker_is_read_once_by_another(
        client: TestClient, bus: redis_lib.Redis, snapshot_device: Device, test_settings: Settings,
        plate_engine: PlateEngine) -> None:
    """The dead worker had taken the snapshot and even claimed its plate in the repeat window."""
    _code, key, _checkpoint = snapshot_device
    photo, plate = real_photo(2)
    assert push(client, key, photo).status_code == 202
    dead = SnapshotReader(plate_engine, bus, test_settings.data_dir, "t-dead")
    reply: Any = bus.xreadgroup(GROUP, "t-dead", {SNAPSHOTS_STREAM: ">"}, count=10)  # taken, never acked
    [(_msg_id, fields)] = reply[0][1]
    dead._first_in_window(QueuedSnapshot.from_fields(fields), plate)
    assert bus.xpending(SNAPSHOTS_STREAM, GROUP)["pending"] == 1

    alive = SnapshotReader(plate_engine, bus, test_settings.data_dir, "t-alive", claim_idle_ms=0)
    assert alive.step(block_ms=10) == 1
    assert alive.step(block_ms=10) == 0
    assert [item.plate for item in passes_on_reads(bus)] == [plate]
    assert bus.xpending(SNAPSHOTS_STREAM, GROUP)["pending"] == 0


def test_a_photo_without_a_plate_gives_no_pass_and_no_image(
        client: TestClient, bus: redis_lib.Redis, snapshot_device: Device, test_settings: Settings,
        plate_engine: PlateEngine) -> None:
    _code, key, _checkpoint = snapshot_device
    assert push(client, key, jpeg(640, 360)).status_code == 202
    [snapshot] = queued(bus)
    reader = SnapshotReader(plate_engine, bus, test_settings.data_dir, "t-none")
    assert reader.step(block_ms=10) == 1
    assert passes_on_reads(bus) == [] and reader.counts.no_plate == 1
    assert not (test_settings.data_dir / snapshot.image_path).exists()
    assert bus.xpending(SNAPSHOTS_STREAM, GROUP)["pending"] == 0


def test_bad_pushes_are_refused_with_a_reason_and_nothing_is_stored(
        client: TestClient, bus: redis_lib.Redis, snapshot_device: Device, session: Session,
        test_settings: Settings) -> None:
    _code, key, checkpoint = snapshot_device
    smart, smart_key = service.register_device(session, DeviceCreate(code=f"SMART-{datetime.now(UTC):%f}",
                                                                     checkpoint=checkpoint.code))
    before = image_files(test_settings)
    good = jpeg()
    cases: list[tuple[int, str, Any]] = [
        (401, "X-Device-Key", push(client, "", good)),
        (401, "unknown", push(client, "ck_wrong", good)),
        (403, "smart camera", push(client, smart_key, good)),
        (422, "not a JPEG", push(client, key, png())),
        (422, "does not decode", push(client, key, good[:300])),
        (422, "does not decode", push(client, key, b"\xff\xd8\xff" + b"\0" * 500)),
        (422, "future", push(client, key, good, taken_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())),
        (422, "older", push(client, key, good, taken_at=(datetime.now(UTC) - timedelta(days=40)).isoformat())),
        (422, "taken_at", push(client, key, good, taken_at="2026-11-25T10:00:00")),  # no UTC offset
        (422, "lanes", push(client, key, good, lane=3)),
        (422, "lane", push(client, key, good, lane=0)),
        (422, "direction", push(client, key, good, direction=None)),
    ]
    for status, reason, response in cases:
        assert response.status_code == status, (reason, response.text)
        assert reason in response.text, (reason, response.text)
    assert not bus.exists(SNAPSHOTS_STREAM) and image_files(test_settings) == before
    assert smart.kind == "smart"


def test_a_retried_snapshot_keeps_its_id(client: TestClient, snapshot_device: Device) -> None:
    _code, key, _checkpoint = snapshot_device
    first = push(client, key, jpeg(), snapshot_ref="S-42").json()["snapshot_id"]
    assert push(client, key, jpeg(), snapshot_ref="S-42").json()["snapshot_id"] == first
    assert push(client, key, jpeg(), snapshot_ref="S-43").json()["snapshot_id"] != first


def test_the_pool_starts_when_snapshots_wait_and_restarts_a_killed_worker(
        client: TestClient, bus: redis_lib.Redis, snapshot_device: Device, test_settings: Settings,
        servers: tuple[str, str]) -> None:
    _code, key, _checkpoint = snapshot_device
    pool = SnapshotPool(servers[1], test_settings.data_dir, processes=1)
    try:
        pool.watch(bus)
        assert pool.processes == [] and not snapshots_waiting(bus)  # nothing queued: no engine loaded
        photo, plate = real_photo(3)
        assert push(client, key, photo).status_code == 202
        pool.watch(bus)
        [first] = pool.processes
        wait_until(lambda: bus.exists(READS_STREAM) and len(passes_on_reads(bus)) == 1, timeout_s=60)
        assert passes_on_reads(bus)[0].plate == plate
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        first.join(timeout=10)
        wait_until(lambda: [p.pid for p in pool.processes if p.is_alive()] not in ([], [first.pid]), timeout_s=10,
                   what="the supervisor restarted the killed LPR process")  # after its 1 s backoff
        [second] = pool.processes
        assert second.pid != first.pid and second.is_alive()
        assert pool.supervisor.workers["snapshot-lpr-0"].restarts == 1
        photo, plate = real_photo(4)
        assert push(client, key, photo).status_code == 202
        wait_until(lambda: len(passes_on_reads(bus)) == 2, timeout_s=60)
        assert passes_on_reads(bus)[1].plate == plate
    finally:
        pool.stop()


def test_the_cli_registers_a_snapshot_device_on_lanes(engine: Engine, sessions: sessionmaker[Session],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKPOINT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    with sessions() as session:
        checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
        assert checkpoint is not None
    code = f"CLI-SNAP-{datetime.now(UTC):%H%M%S%f}"
    try:
        result = CliRunner().invoke(capture_cli.app, ["add-device", code, "--checkpoint", checkpoint.code,
                                                      "--kind", "snapshot", "--lane", "1", "--direction", "in"])
        refused = CliRunner().invoke(capture_cli.app, ["add-device", code + "x", "--checkpoint", checkpoint.code,
                                                       "--kind", "video"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["kind"] == "snapshot" and printed["lanes"] == [1] and printed["api_key"].startswith("ck_")
    with sessions() as session:
        device = session.scalars(select(DeviceRow).where(DeviceRow.code == code)).one()
        assert device.kind == "snapshot" and device.direction == "in"
    assert refused.exit_code == 2 and "kind" in refused.output
