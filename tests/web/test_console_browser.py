"""The console in a real headless Chromium: log in, see the 120 checkpoints, open one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from redis import Redis
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture.video.status import feed_key
from checkpoint.core.models import User
from checkpoint.sites.models import Checkpoint, Feed
from tests.browser import log_in, screenshot_dir


def test_planner_logs_in_and_sees_the_120_checkpoints(browser: webdriver.Chrome, live_server: str,
                                                      committed_user: Callable[..., User], tmp_path: Path) -> None:
    user = committed_user("planner")
    log_in(browser, live_server, user.username)
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "path.checkpoint-marker")) >= 120)
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.checkpoint-marker")) == 120
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.road-edge")) > 500
    nav = [a.get_attribute("data-page") for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")]
    assert nav == ["map", "coverage"]  # a planner sees neither user administration nor the audit log
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-map.png"))

    browser.find_element(By.CSS_SELECTOR, ".cp-list a").click()
    code = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".leaflet-popup .cp-code"))).text
    assert code.startswith("HZ-")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-checkpoint.png"))


def test_wrong_password_shows_an_error(browser: webdriver.Chrome, live_server: str,
                                       committed_user: Callable[..., User]) -> None:
    user = committed_user("officer")
    log_in(browser, live_server, user.username, "not-the-password-1")
    error = WebDriverWait(browser, 10).until(ec.visibility_of_element_located((By.ID, "login-error")))
    assert "Wrong username or password" in error.text


def test_roles_shape_the_navigation(browser: webdriver.Chrome, live_server: str,
                                    committed_user: Callable[..., User], tmp_path: Path) -> None:
    auditor, admin = committed_user("auditor"), committed_user("admin")  # 三员分立: two people
    log_in(browser, live_server, auditor.username)
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#nav a")) >= 2)
    nav = {a.get_attribute("data-page") for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")}
    assert {"map", "audit"} <= nav
    assert not nav & {"users", "coverage", "watchlist", "alerts", "trajectory"}  # roles this user does not hold
    browser.get(f"{live_server}/console/audit")
    wait.until(lambda b: "auth.login" in b.find_element(By.ID, "audit-table").text)
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-audit.png"))
    log_in(browser, live_server, admin.username)
    wait.until(lambda b: "users" in {a.get_attribute("data-page") for a in b.find_elements(By.CSS_SELECTOR, "#nav a")})
    assert "audit" not in {a.get_attribute("data-page") for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")}
    browser.get(f"{live_server}/console/users")
    wait.until(lambda b: admin.username in b.find_element(By.ID, "users-table").text)


def test_console_pages_need_a_login(browser: webdriver.Chrome, live_server: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server}/console/map")
    WebDriverWait(browser, 10).until(lambda b: "/login" in b.current_url)


def test_map_rings_checkpoints_by_feed_status(browser: webdriver.Chrome, live_server: str, bus: Redis,
                                              committed_user: Callable[..., User], sessions: sessionmaker[Session],
                                              tmp_path: Path) -> None:
    with sessions() as session:
        checkpoint = session.scalar(select(Checkpoint).where(Checkpoint.code == "HZ-441302-01"))
        assert checkpoint is not None
        feed = Feed(checkpoint_id=checkpoint.id, lane=1, direction="in", kind="rtsp", source="rtsp://camera-1")
        session.add(feed)
        session.commit()
        feed_id = feed.id
    try:
        bus.hset(feed_key(feed_id), mapping={"state": "offline", "last_error": "connection refused"})
        log_in(browser, live_server, committed_user("dispatcher").username)
        wait = WebDriverWait(browser, 20)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "path.checkpoint-marker[data-status='offline']"))
        assert len(browser.find_elements(By.CSS_SELECTOR, "path.checkpoint-marker[data-status='offline']")) == 1
        browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-feed-status.png"))
    finally:
        with sessions() as session:
            session.execute(delete(Feed).where(Feed.id == feed_id))
            session.commit()
