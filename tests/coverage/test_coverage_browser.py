"""The planner page in headless Chromium: the rule under a reading, leak routes in red, taking a checkpoint
offline adds one, the optimum for the quotas drawn, the reading switched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis as redis_lib
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.models import User
from checkpoint.coverage import service
from checkpoint.coverage.traffic import generate
from checkpoint.coverage.verifier import CrossingVerifier, RingIndex
from checkpoint.coverage.worker import record
from tests.browser import log_in, screenshot_dir


def shown_leaks(browser: webdriver.Chrome) -> int:
    return int(browser.find_element(By.ID, "coverage-status").get_attribute("data-leaks") or -1)


def record_generated_crossings(sessions: sessionmaker[Session], redis_url: str) -> None:
    """Live shares as the consumer would leave them, from generated traffic (95 % reads)."""
    with sessions() as session:
        model = service.model(session)
    checker = CrossingVerifier(RingIndex(model.network, model.areas, model.checkpoints))
    traffic = generate(model, trips=300, seed=2, read_rate=0.95)
    crossings = [c for s in traffic.sightings for c in checker.observe(s)] + checker.flush()
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    for key in client.scan_iter("checkpoint:coverage:*"):
        client.delete(key)
    record(client, crossings)
    client.close()


def test_planner_takes_a_checkpoint_offline_and_sees_a_leak_appear(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User], tmp_path: Path,
        sessions: sessionmaker[Session], servers: tuple[str, str]) -> None:
    record_generated_crossings(sessions, servers[1])
    user = committed_user("planner")
    log_in(browser, live_server, user.username)
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: "coverage" in [a.get_attribute("data-page")
                                        for a in b.find_elements(By.CSS_SELECTOR, "#nav a")])
    browser.get(f"{live_server}/console/coverage")
    wait.until(lambda b: b.find_elements(By.ID, "coverage-status") and shown_leaks(b) > 0)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "path.leak-route")) == shown_leaks(b))
    before = shown_leaks(browser)
    red = len(browser.find_elements(By.CSS_SELECTOR, "path.leak-route"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#coverage-areas tr")) == 9  # header + 8 areas
    wait.until(lambda b: "≥2 share" in b.find_element(By.ID, "coverage-live").text)
    assert "leak route" in browser.find_element(By.ID, "coverage-live").text
    browser.execute_script("document.getElementById('coverage-live').scrollIntoView()")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "coverage-live.png"))
    browser.execute_script("document.getElementById('side').scrollTop = 0")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "coverage-planner.png"))

    button = browser.find_element(By.CSS_SELECTOR, "button.take-offline")
    code = button.get_attribute("data-code")
    button.click()
    wait.until(lambda b: shown_leaks(b) > before)
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.leak-route")) > red
    assert f"offline: {code}" in browser.find_element(By.ID, "coverage-changes").text
    assert browser.find_elements(By.CSS_SELECTOR, "path.ring-checkpoint.offline")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "coverage-offline.png"))

    browser.find_element(By.ID, "reset-what-if").click()
    wait.until(lambda b: shown_leaks(b) == before)
    browser.find_element(By.ID, "forbid-road").click()
    browser.find_element(By.ID, "map").click()  # the road nearest the map's middle gets no checkpoint
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "path.forbidden-road"))
    browser.find_element(By.ID, "optimise-placement").click()
    wait.until(lambda b: "最优 optimum" in b.find_element(By.ID, "optimum-result").text)
    text = browser.find_element(By.ID, "optimum-result").text
    assert "routes hold" in text and "gap" in text and "full compliance needs" in text  # proven, or the gap left
    assert len(browser.find_elements(By.CSS_SELECTOR, "#optimum-counties tr")) == 8  # header + 7 counties
    for leak in browser.find_elements(By.CSS_SELECTOR, "#optimum-leaks li"):
        assert "edge" not in leak.text and ("自" in leak.text or "驶离" in leak.text)
    browser.set_window_size(1600, 1500)  # the reading selector and the optimum in one picture
    browser.execute_script("document.getElementById('side').scrollTop = 0")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "coverage-optimum.png"))

    Select(browser.find_element(By.ID, "reading-origins")).select_by_value("strict")
    wait.until(lambda b: "严格" in b.find_element(By.ID, "reading-words").text)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "path.leak-route")) == shown_leaks(b))
