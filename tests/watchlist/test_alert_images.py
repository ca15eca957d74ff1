"""A hit alert keeps its pass's images: still served after passes retention removed the pass and its day."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.config import Settings
from checkpoint.core.models import User
from checkpoint.passes.images import image_relpath, write_image
from checkpoint.passes.models import Pass
from checkpoint.passes.partitions import ensure_day_partitions
from checkpoint.passes.retention import run_retention
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import alerts, index
from checkpoint.watchlist.change_log import record_change
from checkpoint.watchlist.models import HitAlert, WatchEntry
from checkpoint.watchlist.schemas import ScopeUpdate
from checkpoint.watchlist.worker import Matcher
from tests.watchlist.conftest import drain, headers_for, pass_event, push_pass, random_plate

SEEN_AT = datetime(2020, 1, 15, 10, 0, tzinfo=UTC)  # a day of its own, far before any other test's passes
SCENE, PLATE = b"\xff\xd8\xff scene " + secrets.token_bytes(64), b"\xff\xd8\xff plate " + secrets.token_bytes(16)


def test_alert_images_outlive_the_pass_and_its_day_folder(
        bus: Redis, engine: Engine, sessions: sessionmaker[Session], test_settings: Settings, client: TestClient,
        committed_watch: Callable[..., WatchEntry], make_user: Callable[..., User], session: Session) -> None:
    data_dir = test_settings.data_dir
    plate = random_plate()
    entry = committed_watch(plate)
    with sessions() as db:  # in force since before the pass (an officer may only register from now on)
        db.execute(update(WatchEntry).where(WatchEntry.id == entry.id).values(valid_from=SEEN_AT - timedelta(days=1)))
        record_change(db, db.get_one(WatchEntry, entry.id), "edit")  # an edit is logged like any change
        db.commit()
        index.mirror(bus, db)
    with sessions() as db:
        checkpoint = db.scalars(select(Checkpoint).order_by(Checkpoint.id).limit(1)).one()
        event = pass_event(plate, checkpoint, SEEN_AT)
        pass_id = event.captured.pass_id
        scene = image_relpath(SEEN_AT, checkpoint.code, pass_id, "scene")
        crop = image_relpath(SEEN_AT, checkpoint.code, pass_id, "plate")
        write_image(data_dir, scene, SCENE)
        write_image(data_dir, crop, PLATE)
        ensure_day_partitions(db.connection(), SEEN_AT.date(), SEEN_AT.date())
        db.add(Pass(id=pass_id, captured_at=SEEN_AT, plate=plate, checkpoint_id=checkpoint.id, lat=checkpoint.lat,
                    lon=checkpoint.lon, image_path=scene, plate_image_path=crop))
        db.commit()
    push_pass(bus, replace(event, captured=replace(event.captured, image_path=scene, plate_image_path=crop)))
    assert drain(Matcher(bus, sessions, f"images-{secrets.token_hex(3)}", data_dir=data_dir)) == 1
    with sessions() as db:
        alert = db.scalars(select(HitAlert).where(HitAlert.pass_id == pass_id)).one()
    assert alert.image_path == f"alerts/{SEEN_AT:%Y%m%d}/{checkpoint.code}/{pass_id}_scene.jpg"

    report = run_retention(engine, data_dir, now=datetime(2020, 2, 20, tzinfo=UTC))
    assert f"pass_{SEEN_AT:%Y%m%d}" in report.dropped_partitions
    assert not (data_dir / scene).exists() and not (data_dir / "images" / f"{SEEN_AT:%Y%m%d}").exists()
    with sessions() as db:
        assert db.scalar(select(Pass.id).where(Pass.id == pass_id)) is None

    dispatcher, outsider = make_user("dispatcher"), make_user("dispatcher")
    alerts.set_scope(session, make_user("admin"), dispatcher, ScopeUpdate(whole_network=True))
    session.flush()
    url = f"/api/v1/watchlist/alerts/{alert.id}/images"
    assert client.get(f"{url}/scene", headers=headers_for(dispatcher)).content == SCENE
    assert client.get(f"{url}/plate", headers=headers_for(dispatcher)).content == PLATE
    assert client.get(f"{url}/scene", headers=headers_for(outsider)).status_code == 404  # outside their scope
    assert client.get(f"{url}/scene").status_code == 401


def test_an_unknown_alert_has_no_images(client: TestClient, make_user: Callable[..., User]) -> None:
    dispatcher = make_user("dispatcher")
    response = client.get("/api/v1/watchlist/alerts/2000000000/images/scene", headers=headers_for(dispatcher))
    assert response.status_code == 404 and "scope" in response.json()["detail"]
