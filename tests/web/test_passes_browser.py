"""The Passes page in a real Chromium: an admin registers a camera, it pushes, the pass shows up live."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis as redis_lib
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine

from checkpoint.core.bus import READS_STREAM, Bus, ensure_group
from checkpoint.core.models import User
from checkpoint.core.redis_process import redis_server
from checkpoint.passes.writer import GROUP, PassWriter
from tests.browser import log_in, screenshot_dir
from tests.capture.helpers import jpeg

PLATES = [("粤L12345", "blue", "L12345"), ("粤LD68888", "green", "LD68888"), ("粤L9F321", "yellow", "L9F321"),
          ("粤A0K827", "blue", "A0K827"), ("湘B77412", "blue", "B77412"), ("粤L3X50学", "yellow", "L3X50")]
BACKGROUNDS = {"blue": (191, 95, 31), "green": (79, 157, 46), "yellow": (0, 176, 224)}


def plate_crop(text: str, colour: str) -> bytes:
    image = np.full((36, 120, 3), BACKGROUNDS[colour], np.uint8)
    ink = (255, 255, 255) if colour == "blue" else (20, 20, 20)
    cv2.putText(image, text, (6, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.7, ink, 2)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return bytes(buf.tobytes())


def push(live_server: str, key: str, body: dict[str, object]) -> str:
    request = urllib.request.Request(f"{live_server}/api/v1/ingest/passes", data=json.dumps(body).encode(),
                                     headers={"X-Device-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        return str(json.loads(response.read())["pass_id"])


@pytest.fixture
def own_bus(servers: tuple[str, str], tmp_path: Path) -> Iterator[redis_lib.Redis]:
    """The live server's Redis, swapped for one of this test's own (other runs share and flush db 15)."""
    with redis_server(tmp_path) as server:
        server.client()
        yield Bus.configure(server.url)
    Bus.configure(servers[1])


def test_a_pushed_pass_appears_on_the_live_page(browser: webdriver.Chrome, live_server: str, engine: Engine,
                                                own_bus: redis_lib.Redis, committed_user: Callable[..., User],
                                                tmp_path: Path) -> None:
    user = committed_user("admin", "dispatcher")
    log_in(browser, live_server, user.username)
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#nav a")) >= 2)
    browser.get(f"{live_server}/console/passes")
    code = f"CAM-{datetime.now(UTC):%H%M%S%f}"
    form = wait.until(ec.visibility_of_element_located((By.ID, "device-form")))
    form.find_element(By.NAME, "code").send_keys(code)
    form.find_element(By.NAME, "name").send_keys("惠城 城界卡口 1 号 进城 全景+车牌")
    form.find_element(By.NAME, "checkpoint").send_keys("HZ-441302-01", Keys.TAB)  # closes the picker's list
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    key = wait.until(ec.visibility_of_element_located((By.ID, "device-key"))).text
    assert key.startswith("ck_")

    writer = PassWriter(engine, own_bus, consumer="browser-test", block_ms=10)
    ensure_group(own_bus, READS_STREAM, GROUP)
    now = datetime.now(UTC)
    pass_ids = []
    for index, (plate, colour, crop_text) in enumerate(PLATES):
        body = {"device_id": code, "plate_no": plate, "plate_colour": colour, "lane_no": 1 + index % 4,
                "direction": "in", "pass_time": (now - timedelta(seconds=7 * (len(PLATES) - index))).isoformat(),
                "speed": 40.0 + index * 7, "images": [
                    {"type": "scene", "data": base64.b64encode(jpeg(seed=index)).decode()},
                    {"type": "plate", "data": base64.b64encode(plate_crop(crop_text, colour)).decode()}]}
        pass_ids.append(push(live_server, key, body))
    assert writer.step() == len(PLATES)

    newest = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, f"tr[data-pass-id='{pass_ids[-1]}']")))
    assert PLATES[-1][0] in newest.text
    assert "HZ-441302-01" in newest.text
    crop = newest.find_element(By.CSS_SELECTOR, "img.plate-crop")
    wait.until(lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", crop))
    for pass_id in pass_ids:
        assert browser.find_elements(By.CSS_SELECTOR, f"tr[data-pass-id='{pass_id}']")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "passes-live.png"))
