"""In a real Chromium: an admin opens 设备 Devices and sees 在线率/完好率 against the plan, the outage of a
silent camera, every kind of camera with its state, and the map shows the network figures
(screenshot: docs/img/console-devices.png with make screenshots)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture import device_health, device_seen, service
from checkpoint.capture.models import Device
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.capture.video.status import FeedStatusWriter
from checkpoint.core.models import User
from checkpoint.core.settings_groups import IntakeSettings
from checkpoint.sites.models import Checkpoint, Feed
from tests.browser import log_in, screenshot_dir


def test_an_admin_sees_rates_outages_and_every_kind_of_camera(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User], bus: Redis,
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    now = datetime.now(UTC)
    with sessions() as db:
        checkpoints = list(db.scalars(select(Checkpoint).where(Checkpoint.active).order_by(Checkpoint.id).limit(2)))
        made: list[Device] = []
        for kind, checkpoint, extra in [
                ("smart", checkpoints[0], {}), ("snapshot", checkpoints[0], {}),
                ("gat1400", checkpoints[1], {"tollgate_id": "44130200001210000042", "digest_username": "cam42",
                                             "digest_password": "pw-of-42"}),
                ("smart", checkpoints[1], {})]:
            code = f"{kind.upper()}-{tag}-{len(made)}"
            if kind == "gat1400":
                code = f"441302000011{int(tag, 16) % 10**8:08d}"  # a 20-digit DeviceID
            device, _key = service.register_device(db, DeviceCreate.model_validate(
                {"code": code, "checkpoint": checkpoint.code, "kind": kind, "name": f"{checkpoint.name} {kind}",
                 **extra}))
            device.created_at = now - timedelta(hours=21)
            made.append(device)
        feed = Feed(checkpoint_id=checkpoints[0].id, lane=1, direction="in", kind="rtsp",
                    source="rtsp://ops:secret@10.0.0.9/main", name=f"{checkpoints[0].name} 车道1 视频")
        db.add(feed)
        db.commit()
        device_ids, feed_id = [device.id for device in made], feed.id
    try:
        for device_id in device_ids[:3]:
            device_seen.seen(bus, device_id, "push", now - timedelta(hours=20), passed=True, force=True)
        intake = IntakeSettings(outage_after_s=300)
        with sessions() as db:  # 20 h ago three were heard: online since then
            device_health.step(db, bus, intake, now - timedelta(hours=20) + timedelta(minutes=1))
            db.commit()
        for device_id in device_ids[:3]:
            device_seen.seen(bus, device_id, "push", now, passed=True, force=True)
        FeedStatusWriter(bus, feed_id).set_state("online")
        with sessions() as db:  # the last smart camera never spoke: offline, an outage
            device_health.step(db, bus, intake, now)
            db.commit()

        wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])
        log_in(browser, live_server, committed_user("admin").username)
        wait.until(lambda b: "/console/" in b.current_url)  # logged in: the session cookie is set
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=devices]"))[0].click()
        table = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#health-cameras tr[data-camera]"))
        assert table
        text = browser.find_element(By.ID, "health-cameras").text
        for label in ("智能相机 JSON", "抓拍相机", "GA/T 1400", "RTSP 视频"):
            assert label in text
        outages = browser.find_element(By.ID, "health-outages").text
        assert f"SMART-{tag}-3" in outages and "离线告警" in outages
        assert "%" in browser.find_element(By.ID, "figure-online").text
        assert "secret" not in browser.page_source
        browser.set_window_size(1400, 1000)
        browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-devices.png"))

        browser.get(f"{live_server}/console/map")
        figures = wait.until(lambda b: [f for f in b.find_elements(By.ID, "map-figures") if f.is_displayed()])
        assert "在线率" in figures[0].text and "完好率" in figures[0].text
    finally:
        with sessions() as db:
            db.execute(delete(Device).where(Device.id.in_(device_ids)))
            db.execute(delete(Feed).where(Feed.id == feed_id))
            db.commit()
