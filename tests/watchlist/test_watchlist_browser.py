"""In a real Chromium: an officer registers a watch, a second user approves it, a pass is pushed, and the
alert appears on a dispatcher's page with the alert's own copy of the pass image (screenshot:
docs/img/console-alerts.png with make screenshots)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from redis import Redis
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.config import Settings
from checkpoint.core.models import User
from checkpoint.passes.images import image_relpath, write_image
from checkpoint.passes.record import PassEvent
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.models import DispatcherScope
from checkpoint.watchlist.relay import start_relay_thread
from checkpoint.watchlist.worker import start_matcher_thread
from tests.browser import log_in, screenshot_dir
from tests.watchlist.conftest import pass_event, push_pass, random_plate


@pytest.fixture
def matcher_redis(servers: tuple[str, str], sessions: sessionmaker[Session],
                  test_settings: Settings) -> Iterator[Redis]:
    """Matcher and relay threads on the live server's Redis (the `bus` fixture would close the live server's client)."""
    client = Redis.from_url(servers[1], decode_responses=True)
    stop = threading.Event()
    relay_thread, relay = start_relay_thread(client, sessions, stop, test_settings.data_dir)
    thread = start_matcher_thread(client, sessions, stop, consumer="browser-test", data_dir=test_settings.data_dir,
                                  relay_wake=relay.wake)
    yield client
    stop.set()
    thread.join(timeout=10)
    relay_thread.join(timeout=10)
    client.close()


def with_scene_image(event: PassEvent, checkpoint: Checkpoint, data_dir: Path) -> PassEvent:
    """The pass with a real JPEG scene written where capture writes pass images."""
    frame = np.full((240, 320, 3), 90, np.uint8)
    cv2.rectangle(frame, (90, 140), (230, 180), (200, 120, 30), -1)
    cv2.putText(frame, event.captured.plate[1:], (100, 170), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    relpath = image_relpath(event.captured.captured_at, checkpoint.code, event.captured.pass_id, "scene")
    write_image(data_dir, relpath, cv2.imencode(".jpg", frame)[1].tobytes())
    return replace(event, captured=replace(event.captured, image_path=relpath, plate_image_path=None))


def test_officer_registers_supervisor_approves_dispatcher_sees_the_hit(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User],
        sessions: sessionmaker[Session], matcher_redis: Redis, tmp_path: Path, test_settings: Settings) -> None:
    officer, supervisor, dispatcher = committed_user("officer"), committed_user("officer", "approver"), \
        committed_user("dispatcher")
    with sessions() as db:
        db.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[], checkpoint_ids=[]))
        db.commit()
        checkpoint = db.scalars(select(Checkpoint).where(Checkpoint.edge_id.is_not(None)).limit(1)).one()
    plate = random_plate()
    wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])

    log_in(browser, live_server, officer.username)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=watchlist]"))
    browser.get(f"{live_server}/console/watchlist")
    wait.until(lambda b: b.find_elements(By.ID, "watch-pattern"))[0].send_keys(plate)
    browser.find_element(By.ID, "watch-reason").send_keys("被盗车辆 stolen car, browser test")
    Select(browser.find_element(By.NAME, "scope_kind")).select_by_value("checkpoints")
    browser.find_element(By.ID, "scope-checkpoints").send_keys(checkpoint.code, Keys.ENTER)  # the picker
    chip = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f".chip[data-value='{checkpoint.code}']"))[0]
    assert checkpoint.name in chip.text  # chosen by code, shown with its name
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-watchlist.png"))
    browser.find_element(By.ID, "watch-submit").click()
    wait.until(lambda b: "pending" in b.find_element(By.ID, "watch-message").text)

    log_in(browser, live_server, supervisor.username)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=watchlist]"))
    browser.get(f"{live_server}/console/watchlist")
    row = f"#watch-table tr[data-pattern='{plate}']"
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"{row}[data-status=pending] button.approve"))
    assert browser.find_element(By.CSS_SELECTOR, f"{row} td.scope").text == f"{checkpoint.code} {checkpoint.name}"
    browser.find_element(By.ID, "decision-reason").send_keys("案情属实 confirmed")
    browser.find_element(By.CSS_SELECTOR, f"{row} button.approve").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"{row}[data-status=active]"))
    wait.until(lambda b: "已生效" in b.find_element(By.ID, "watch-message").text)  # the index holds it
    wait.until(lambda b: "索引已同步" in b.find_element(By.ID, "watch-index-notice").text)

    log_in(browser, live_server, dispatcher.username)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=alerts]"))
    browser.get(f"{live_server}/console/alerts")
    wait.until(lambda b: "live" in b.find_element(By.ID, "alert-connection").text)
    push_pass(matcher_redis, with_scene_image(pass_event(plate, checkpoint), checkpoint, test_settings.data_dir))
    card = f".al-card[data-plate='{plate}']"
    wait.until(lambda b: "exact" in b.find_element(By.CSS_SELECTOR, card).text)
    wait.until(lambda b: b.execute_script(  # the alert's own copy of the image, served and decoded
        "const img = document.querySelector(arguments[0]); return img && img.complete && img.naturalWidth > 0;",
        f"{card} img.img-scene"))
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".hit-marker"))
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-alerts.png"))
    browser.find_element(By.CSS_SELECTOR, f"{card} button.step-sign").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"{card}.signed"))
    # the buttons of the next state, drawn from the lifecycle the API serves (watchlist/lifecycle.py)
    wait.until(lambda b: b.find_element(By.CSS_SELECTOR, f"{card} button.step-valid").text == "研判有效 Valid")
    assert browser.find_element(By.CSS_SELECTOR, f"{card} button.step-false_read").text == "误识 False read"
    assert "已签收 signed" in browser.find_element(By.CSS_SELECTOR, f"{card} .status").text


def test_the_watch_page_says_when_a_change_is_not_yet_in_force(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User],
        sessions: sessionmaker[Session], servers: tuple[str, str]) -> None:
    from checkpoint.watchlist import index

    officer, supervisor = committed_user("officer"), committed_user("officer", "approver")
    redis = Redis.from_url(servers[1], decode_responses=True)
    plate = random_plate()
    wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])
    log_in(browser, live_server, officer.username)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=watchlist]"))
    browser.get(f"{live_server}/console/watchlist")
    wait.until(lambda b: b.find_elements(By.ID, "watch-pattern"))[0].send_keys(plate)
    browser.find_element(By.ID, "watch-reason").send_keys("索引同步提示 index notice, browser test")
    browser.find_element(By.ID, "watch-submit").click()
    wait.until(lambda b: "pending" in b.find_element(By.ID, "watch-message").text)

    redis.delete(index.READY_KEY)  # the index lost, and another process busy rebuilding it
    redis.set(index.REBUILD_LOCK_KEY, "1", ex=60)
    try:
        log_in(browser, live_server, supervisor.username)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=watchlist]"))
        browser.get(f"{live_server}/console/watchlist")
        row = f"#watch-table tr[data-pattern='{plate}']"
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"{row}[data-status=pending] button.approve"))
        browser.find_element(By.CSS_SELECTOR, f"{row} button.approve").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"{row}[data-status=active]"))
        wait.until(lambda b: "布控已保存，索引同步中" in b.find_element(By.ID, "watch-message").text)
        notice = browser.find_element(By.ID, "watch-index-notice")
        assert "布控已保存，索引同步中" in notice.text and "pending" in str(notice.get_attribute("class"))
    finally:
        redis.delete(index.REBUILD_LOCK_KEY)
    assert index.rebuild(redis, sessions)  # the rebuild done: the page's next poll says so
    wait.until(lambda b: "索引已同步" in b.find_element(By.ID, "watch-index-notice").text)
    redis.close()
