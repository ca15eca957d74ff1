"""Done-when: a GA/T 1400 client written from the standard registers with Digest, keeps alive and pushes two
motor vehicles, one malformed: status 0 for the good one (stored with its images and attributes, and it
hits a watch), an error for the bad one; an unregistered device or a wrong password gets 401, nothing stored."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture.viid.service import directory
from checkpoint.core.bus import READS_STREAM, ensure_group
from checkpoint.core.config import Settings
from checkpoint.passes.models import Pass
from checkpoint.passes.writer import GROUP, PassWriter
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.models import HitAlert, WatchEntry
from tests.capture.helpers import b64, jpeg, random_plate
from tests.capture.viid_client import ViidCamera
from tests.waiting import wait_until
from tests.watchlist.conftest import committed_watch, drain, new_matcher  # noqa: F401  # committed_watch: a fixture

TOLLGATE = "44130200001210000001"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def camera(client: TestClient, session: Session, auth_headers: Callable[..., dict[str, str]]) -> Iterator[ViidCamera]:
    """A GA/T 1400 camera registered through the registry API by an admin, at the first checkpoint."""
    checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    device_id = "4413020000119" + f"{secrets.randbelow(10**7):07d}"
    body = {"code": device_id, "checkpoint": checkpoint.code, "kind": "gat1400", "tollgate_id": TOLLGATE,
            "digest_username": "cam01", "digest_password": "pw-of-cam01", "lanes": [1, 2]}
    created = client.post("/api/v1/devices", json=body, headers=auth_headers("admin"))
    assert created.status_code == 201, created.text
    assert "pw-of-cam01" not in created.text and created.json()["tollgate_id"] == TOLLGATE
    directory.forget()
    yield ViidCamera(client, device_id, "cam01", "pw-of-cam01")
    directory.forget()


def motor_vehicle(device_id: str, plate: str, **fields: Any) -> dict[str, Any]:
    now = datetime.now(SHANGHAI)
    body = {"MotorVehicleID": f"{device_id}02{now:%Y%m%d%H%M%S}{secrets.randbelow(10**5):05d}", "InfoKind": 1,
            "SourceID": f"{device_id}02{now:%Y%m%d%H%M%S}00001", "DeviceID": device_id, "TollgateID": TOLLGATE,
            "LaneNo": 2, "HasPlate": "1", "PlateClass": "02", "PlateColor": "5", "PlateNo": plate,
            "PassTime": f"{now:%Y%m%d%H%M%S}", "Speed": 54.0, "Direction": "3", "VehicleClass": "K33",
            "VehicleBrand": "大众", "VehicleColor": "2",
            "SubImageList": {"SubImageInfoObject": [
                {"ImageID": "1", "EventSort": 1, "DeviceID": device_id, "Type": "01", "FileFormat": "Jpeg",
                 "ShotTime": f"{now:%Y%m%d%H%M%S}", "Width": 320, "Height": 180, "Data": b64(jpeg())},
                {"ImageID": "2", "EventSort": 1, "DeviceID": device_id, "Type": "02", "FileFormat": "Jpeg",
                 "ShotTime": f"{now:%Y%m%d%H%M%S}", "Width": 96, "Height": 32, "Data": b64(jpeg(96, 32, 1))}]}}
    body.update(fields)
    return body


def reads(bus: redis_lib.Redis) -> int:
    return int(bus.xlen(READS_STREAM)) if bus.exists(READS_STREAM) else 0


@pytest.fixture
def watched(committed_watch: Callable[..., WatchEntry]) -> WatchEntry:  # noqa: F811
    """A committed watch, made BEFORE the camera: the camera's registration is audited inside the test's
    rolled-back transaction, which holds the audit chain's lock until the test ends."""
    return committed_watch(random_plate())


def test_register_keepalive_and_two_objects_one_malformed(
        watched: WatchEntry, camera: ViidCamera, bus: redis_lib.Redis, engine: Engine,
        sessions: sessionmaker[Session], test_settings: Settings) -> None:
    watch = watched
    plate = watch.pattern
    later = datetime.now(SHANGHAI) + timedelta(seconds=2)  # PassTime has whole seconds: after the watch began
    good = motor_vehicle(camera.device_id, plate, PassTime=f"{later:%Y%m%d%H%M%S}")

    refused = camera.motor_vehicles([good])  # not registered yet: 401 with a challenge, nothing stored
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Digest ")
    assert reads(bus) == 0

    wrong = ViidCamera(camera.http, camera.device_id, camera.username, "not-the-password")
    first = wrong.post("/VIID/System/Register", {"RegisterObject": {"DeviceID": camera.device_id}})
    answered = wrong.post("/VIID/System/Register", {"RegisterObject": {"DeviceID": camera.device_id}},
                          wrong._authorization("POST", "/VIID/System/Register", first.headers["WWW-Authenticate"]))
    assert answered.status_code == 401

    registered = camera.register()
    assert registered.status_code == 200, registered.text
    status = registered.json()["ResponseStatusObject"]
    assert status["StatusCode"] == 0 and status["Id"] == camera.device_id and len(status["LocalTime"]) == 14

    alive = camera.keepalive()
    assert alive.status_code == 200 and alive.json()["ResponseStatusObject"]["StatusCode"] == 0
    clock = camera.get("/VIID/System/Time").json()["SystemTimeObject"]
    assert clock["VIIDServerID"] == test_settings.intake.viid_server_id and len(clock["LocalTime"]) == 14

    malformed = motor_vehicle(camera.device_id, random_plate(), PassTime="2026-13-45 25:61")
    pushed = camera.motor_vehicles([good, malformed])
    assert pushed.status_code == 200, pushed.text
    statuses = pushed.json()["ResponseStatusListObject"]["ResponseStatusObject"]
    assert [s["StatusCode"] for s in statuses] == [0, 8]
    assert statuses[0]["Id"] == good["MotorVehicleID"] and statuses[1]["Id"] == malformed["MotorVehicleID"]
    assert "PassTime" in statuses[1]["StatusString"]
    assert reads(bus) == 1

    ensure_group(bus, READS_STREAM, GROUP)
    writer = PassWriter(engine, bus, consumer=f"viid-{secrets.token_hex(3)}", batch_size=100, block_ms=10)
    wait_until(lambda: writer.step() == 0 and _stored(sessions, plate) is not None, timeout_s=15,
               what="the GA/T 1400 pass stored")
    stored = _stored(sessions, plate)
    assert stored is not None
    assert (stored.vehicle_colour, stored.vehicle_type, stored.vehicle_brand) == ("white", "car", "大众")
    assert stored.plate_colour == "blue" and stored.lane == 2 and stored.speed_kmh == 54.0
    assert stored.image_path and stored.plate_image_path
    assert (test_settings.data_dir / stored.image_path).read_bytes()[:3] == b"\xff\xd8\xff"
    assert (test_settings.data_dir / stored.plate_image_path).read_bytes()[:3] == b"\xff\xd8\xff"

    assert drain(new_matcher(bus, sessions, "viid")) == 1
    with sessions() as db:
        alert = db.scalars(select(HitAlert).where(HitAlert.pass_id == stored.id)).one()
    assert alert.entry_id == watch.id

    again = camera.motor_vehicles([good])  # the same object again (a retry): the same pass, stored once
    assert again.json()["ResponseStatusListObject"]["ResponseStatusObject"][0]["StatusCode"] == 0
    wait_until(lambda: writer.step() == 0, timeout_s=10, what="the retry handled")
    with sessions() as db:
        assert len(db.scalars(select(Pass).where(Pass.plate == plate)).all()) == 1


def _stored(sessions: sessionmaker[Session], plate: str) -> Pass | None:
    with sessions() as db:
        return db.scalars(select(Pass).where(Pass.plate == plate)).first()


def test_an_unknown_tollgate_is_refused_per_object(camera: ViidCamera, bus: redis_lib.Redis) -> None:
    assert camera.register().status_code == 200
    pushed = camera.motor_vehicles([motor_vehicle(camera.device_id, random_plate(), TollgateID="44999999991210009999"),
                                    "not an object"])
    statuses = pushed.json()["ResponseStatusListObject"]["ResponseStatusObject"]
    assert [s["StatusCode"] for s in statuses] == [4, 7]
    assert "44999999991210009999" in statuses[0]["StatusString"]
    assert reads(bus) == 0


def test_a_body_that_is_not_json_is_a_400_with_a_status(camera: ViidCamera) -> None:
    assert camera.register().status_code == 200
    response = camera.http.post("/VIID/MotorVehicles", content=b"{not json",
                                headers={"User-Identify": camera.device_id, "Content-Type": "application/VIID+JSON"})
    assert response.status_code == 400
    assert response.json()["ResponseStatusObject"]["StatusCode"] == 7 and "JSON" in response.json()["detail"]


def test_tollgates_and_apes_answer_from_the_registry(camera: ViidCamera) -> None:
    assert camera.register().status_code == 200
    tollgates = camera.get("/VIID/Tollgates").json()["TollgateListObject"]["TollgateObject"]
    assert TOLLGATE in [t["TollgateID"] for t in tollgates]
    apes = camera.get("/VIID/APEs").json()["APEListObject"]["APEObject"]
    mine = [ape for ape in apes if ape["ApeID"] == camera.device_id]
    assert mine and mine[0]["IsOnline"] == "1" and mine[0]["TollgateID"] == TOLLGATE
