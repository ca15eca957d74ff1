"""In a real Chromium: an admin sees the dead-letter badge in the header, opens 死信 Dead letters and
replays one (screenshot: docs/img/console-dead-letters.png with make screenshots)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis import Redis
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from checkpoint.core.bus import DEAD_STREAM
from checkpoint.core.models import User
from tests.browser import log_in, screenshot_dir
from tests.core.test_dead_letters import SOURCE, park


def test_an_admin_is_told_of_a_dead_letter_and_replays_it(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User], bus: Redis,
        tmp_path: Path) -> None:
    original = park(bus, {"plate": "粤L3C9EF", "captured_at": "not a time"},
                    "not a pass event: ValueError('Invalid isoformat string')")
    wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])
    log_in(browser, live_server, committed_user("admin").username)
    wait.until(lambda b: any(found.is_displayed() for found in b.find_elements(By.ID, "dead-letter-badge")))
    badge = browser.find_element(By.ID, "dead-letter-badge")
    assert "死信 1" in badge.text
    badge.click()
    row = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#dead-letter-table tr[data-dead]"))[0]
    assert SOURCE in row.text and original in row.text and "not a pass event" in row.text
    browser.find_element(By.ID, "dead-letter-note").send_keys("时间格式已修复 fixed the time format")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-dead-letters.png"))
    row.find_element(By.CSS_SELECTOR, "button.replay").click()
    wait.until(lambda b: "replayed 1" in b.find_element(By.ID, "dead-letter-message").text)
    wait.until(lambda b: "No dead letters" in b.find_element(By.ID, "dead-letter-table").text)
    assert bus.xlen(DEAD_STREAM) == 0
    back: Any = bus.xrevrange(SOURCE, count=1)
    assert back[0][1]["captured_at"] == "not a time"  # the original fields, back on their stream
