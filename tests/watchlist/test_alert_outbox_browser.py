"""In a real Chromium: an alert raised while its image could not be kept shows 图片待补 image pending (no
broken image), and the live indicator stays "live" (the stream no longer drops every 5 s)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from redis import Redis
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.models import User
from checkpoint.passes.images import image_relpath, write_image
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.models import DispatcherScope, WatchEntry
from checkpoint.watchlist.relay import start_relay_thread
from checkpoint.watchlist.worker import start_matcher_thread
from tests.browser import log_in
from tests.watchlist.conftest import pass_event, push_pass, random_plate


def test_an_alert_without_its_image_says_image_pending(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User],
        sessions: sessionmaker[Session], servers: tuple[str, str], committed_watch: Callable[..., WatchEntry],
        tmp_path: Path) -> None:
    client = Redis.from_url(servers[1], decode_responses=True)  # the live server's Redis, closed by this test
    dispatcher = committed_user("dispatcher")
    with sessions() as db:
        db.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[], checkpoint_ids=[]))
        db.commit()
        checkpoint = db.scalars(select(Checkpoint).limit(1)).one()
    plate = random_plate()
    committed_watch(plate)
    event = pass_event(plate, checkpoint)
    scene = image_relpath(event.captured.captured_at, checkpoint.code, event.captured.pass_id, "scene")
    write_image(tmp_path, scene, b"\xff\xd8\xff scene")
    (tmp_path / "alerts").write_bytes(b"")  # the alerts folder cannot be made: a file is in its place
    stop = threading.Event()
    relay_thread, relay = start_relay_thread(client, sessions, stop)
    matcher = start_matcher_thread(client, sessions, stop, consumer="pending-image", data_dir=tmp_path,
                                   relay_wake=relay.wake)
    try:
        wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])
        log_in(browser, live_server, dispatcher.username)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=alerts]"))
        browser.get(f"{live_server}/console/alerts")
        wait.until(lambda b: "live" in b.find_element(By.ID, "alert-connection").text)
        push_pass(client, replace(event, captured=replace(event.captured, image_path=scene, plate_image_path=None)))
        card = f".al-card[data-plate='{plate}']"
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"{card} .image-pending"))
        assert "图片待补 image pending" in browser.find_element(By.CSS_SELECTOR, card).text
        assert browser.find_elements(By.CSS_SELECTOR, f"{card} img") == []  # no broken image
        status = browser.find_element(By.ID, "alert-connection")
        assert status.get_attribute("data-state") == "live" and "live" in status.text
    finally:
        stop.set()
        matcher.join(timeout=10)
        relay_thread.join(timeout=10)
        client.close()
