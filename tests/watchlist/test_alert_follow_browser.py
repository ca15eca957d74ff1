"""In a real Chromium: a dispatcher follows a moving car. Cameras at three successive checkpoints push the
watched car's passes through the capture API; the one alert card moves to each new checkpoint (code and
name), shows the latest image and predicts the next checkpoints and ETAs from there, while the live
indicator never says 重连中 (screenshots: docs/img/console-alert-follow-*.png with make screenshots)."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as redis_lib
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture import service as capture
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core import users
from checkpoint.core.bus import READS_STREAM, ensure_group
from checkpoint.core.config import Settings
from checkpoint.core.models import User
from checkpoint.passes.writer import GROUP, PassWriter
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import service
from checkpoint.watchlist.models import DispatcherScope, HitAlert
from checkpoint.watchlist.predict import Predictor
from checkpoint.watchlist.relay import start_relay_thread
from checkpoint.watchlist.schemas import WatchCreate
from checkpoint.watchlist.worker import start_matcher_thread
from tests.browser import log_in, screenshot_dir
from tests.capture.helpers import jpeg
from tests.conftest import PASSWORD
from tests.watchlist.conftest import random_plate
from tests.web.test_passes_browser import own_bus, plate_crop, push

__all__ = ["own_bus"]  # the live server's Redis, this test's own


@pytest.fixture
def alert_workers(own_bus: redis_lib.Redis, sessions: sessionmaker[Session],
                  test_settings: Settings) -> Iterator[None]:
    """A matcher and a relay on the live server's Redis, keeping alert images under the run's data dir."""
    stop = threading.Event()
    relay_thread, relay = start_relay_thread(own_bus, sessions, stop, test_settings.data_dir)
    matcher = start_matcher_thread(own_bus, sessions, stop, consumer="follow-test", data_dir=test_settings.data_dir,
                                   relay_wake=relay.wake)
    yield
    stop.set()
    matcher.join(timeout=10)
    relay_thread.join(timeout=10)


def route_of_three(sessions: sessionmaker[Session]) -> list[tuple[Checkpoint, float]]:
    """Three checkpoints a car drives through in turn, each the next one predicted from the one before, with
    the predicted seconds from the one before (0 for the first)."""
    predictor = Predictor(sessions)
    with sessions() as db:
        starts = list(db.scalars(select(Checkpoint).where(Checkpoint.edge_id.is_not(None)).order_by(Checkpoint.code)))
        by_id = {cp.id: cp for cp in starts}
    for first in starts:
        route = [(first, 0.0)]
        while len(route) < 3:
            onward = [step for step in predictor.predict(route[-1][0].id, datetime.now(UTC))
                      if step["checkpoint_id"] not in {cp.id for cp, _ in route} and step["checkpoint_id"] in by_id
                      and step["eta_s"] < 500]  # within the alert's grouping window (10 min)
            if not onward:
                break
            route.append((by_id[onward[0]["checkpoint_id"]], float(onward[0]["eta_s"])))
        if len(route) == 3:
            return route
    raise AssertionError("no three checkpoints in a row on the road graph")


def watched_plate(sessions: sessionmaker[Session], plate: str) -> None:
    with sessions() as db:
        requester = users.create(db, username=f"o{secrets.token_hex(4)}", password=PASSWORD, roles=["officer"])
        approver = users.create(db, username=f"s{secrets.token_hex(4)}", password=PASSWORD, roles=["approver"])
        entry = service.create_watch(db, requester, WatchCreate.model_validate({
            "pattern": plate, "category": "stolen", "reason": "被盗车辆 stolen car, follow test",
            "valid_from": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}))
        service.approve_watch(db, approver, entry, "案情属实")
        db.commit()


def camera_keys(sessions: sessionmaker[Session], route: list[Checkpoint]) -> list[tuple[str, str]]:
    """(device code, API key) of a smart camera registered at each checkpoint of the route."""
    keys = []
    with sessions() as db:
        for checkpoint in route:
            code = f"CAM-F-{secrets.token_hex(4)}"
            _device, key = capture.register_device(db, DeviceCreate(code=code, name=f"{checkpoint.name} 卡口相机",
                                                                    checkpoint=checkpoint.code))
            keys.append((code, key))
        db.commit()
    return keys


def test_a_dispatcher_follows_a_moving_cars_alert_through_two_repeat_hits(
        browser: webdriver.Chrome, live_server: str, engine: Engine, own_bus: redis_lib.Redis,
        alert_workers: None, committed_user: Callable[..., User], sessions: sessionmaker[Session],
        tmp_path: Path) -> None:
    legs = route_of_three(sessions)
    route = [checkpoint for checkpoint, _ in legs]
    plate = random_plate()
    watched_plate(sessions, plate)
    cameras = camera_keys(sessions, route)
    dispatcher = committed_user("dispatcher")
    with sessions() as db:
        db.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[], checkpoint_ids=[]))
        db.commit()
    writer = PassWriter(engine, own_bus, consumer="follow-test", block_ms=10)
    ensure_group(own_bus, READS_STREAM, GROUP)

    wait = WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException])
    log_in(browser, live_server, dispatcher.username)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=alerts]"))
    browser.get(f"{live_server}/console/alerts")
    wait.until(lambda b: "live" in b.find_element(By.ID, "alert-connection").text)
    browser.execute_script(  # every state the live indicator takes from now on
        "const status = document.getElementById('alert-connection'); window.connectionStates = [];"
        "new MutationObserver(() => window.connectionStates.push(status.dataset.state))"
        ".observe(status, { attributes: true, childList: true, subtree: true });")
    card = f".al-card[data-plate='{plate}']"
    at = datetime.now(UTC) - timedelta(seconds=sum(seconds for _, seconds in legs) + 30)  # the car drives as predicted

    for step, ((checkpoint, seconds), (device, key)) in enumerate(zip(legs, cameras, strict=True)):
        at += timedelta(seconds=seconds)
        push(live_server, key, {
            "device_id": device, "plate_no": plate, "plate_colour": "blue", "lane_no": 1, "direction": "in",
            "pass_time": at.isoformat(), "speed": 52.0, "images": [
                {"type": "scene", "data": base64.b64encode(jpeg(seed=step)).decode()},
                {"type": "plate", "data": base64.b64encode(plate_crop(plate[1:], "blue")).decode()}]})
        wait.until(written(writer, sessions, plate, step + 1))
        label = f"{checkpoint.code} {checkpoint.name}"
        if step == 0:
            wait.until(shows(f"{card} .first-seen", label))
            first_predicted = browser.find_element(By.CSS_SELECTOR, f"{card} ol.predicted").text
            assert route[1].code in first_predicted  # the next checkpoint along the road, with its ETA
            continue
        wait.until(shows(f"{card} .last-seen", label))
        text = browser.find_element(By.CSS_SELECTOR, card).text
        assert f"×{step + 1}" in text
        assert f"{route[0].code} {route[0].name}" in text  # where it was first hit is kept
        assert f"next checkpoints from {label}" in text
        predicted = browser.find_element(By.CSS_SELECTOR, f"{card} ol.predicted").text
        assert predicted and predicted != first_predicted and checkpoint.code not in predicted
        with sessions() as db:  # ETAs counted from this hit, not the first one
            [alert] = db.scalars(select(HitAlert).where(HitAlert.plate == plate))
        assert all(datetime.fromisoformat(n["eta_at"]) > alert.last_seen_at == at for n in alert.predicted)
        wait.until(lambda b: b.execute_script(  # the latest pass's own image, served and decoded
            "const img = document.querySelector(arguments[0]); return img && img.complete && img.naturalWidth > 0;",
            f"{card} img.img-last_scene"))
        assert len(browser.find_elements(By.CSS_SELECTOR, card)) == 1  # one card follows the car
        browser.save_screenshot(str(screenshot_dir(tmp_path) / f"console-alert-follow-{step}.png"))

    with sessions() as db:
        [alert] = db.scalars(select(HitAlert).where(HitAlert.plate == plate))
    assert alert.hit_count == 3 and alert.last_checkpoint_id == route[2].id
    assert browser.execute_script("return window.connectionStates").count("reconnecting") == 0
    assert "live" in browser.find_element(By.ID, "alert-connection").text


def written(writer: PassWriter, sessions: sessionmaker[Session], plate: str, hits: int) -> Callable[[object], bool]:
    """The writer stores what was pushed, until the plate's alert counts `hits` passes."""
    def done(_browser: object) -> bool:
        writer.step()
        with sessions() as db:
            return db.scalar(select(HitAlert.hit_count).where(HitAlert.plate == plate)) == hits
    return done


def shows(css: str, text: str) -> Callable[[webdriver.Chrome], bool]:
    def shown(browser: webdriver.Chrome) -> bool:
        return text in browser.find_element(By.CSS_SELECTOR, css).text
    return shown
