"""The console replays a trajectory on the map in a real headless Chromium."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.models import User
from checkpoint.passes.models import Pass
from checkpoint.passes.partitions import ensure_day_partitions
from checkpoint.sites.models import Checkpoint
from tests.browser import log_in, screenshot_dir
from tests.trajectory.conftest import random_plate

DAY = datetime(2019, 6, 12, tzinfo=UTC)  # committed data: a day no other test uses


def commit_trajectory(sessions: sessionmaker[Session]) -> str:
    """Two trips of a commuter across Huizhou, committed so the live server sees them."""
    plate = random_plate()
    with sessions() as session:
        ensure_day_partitions(session.connection(), DAY.date(), DAY.date())
        by_code = {cp.code: cp for cp in session.scalars(select(Checkpoint).order_by(Checkpoint.code))}
        codes = sorted(by_code)
        route = [by_code[codes[i]] for i in (0, 4, 9, 15)]
        stamps = [timedelta(minutes=m) for m in (0, 18, 40, 65)]
        trips = [(route, stamps), (list(reversed(route)), [timedelta(hours=9) + s for s in stamps])]
        for places, times in trips:
            for site, offset in zip(places, times, strict=True):
                session.add(Pass(id=uuid.uuid4(), captured_at=DAY + offset, plate=plate, plate_colour="blue",
                                 plate_type="small", confidence=0.97, checkpoint_id=site.id, lane=1, direction="in",
                                 lat=site.lat, lon=site.lon))
        session.commit()
    return plate


def test_an_investigator_replays_a_trajectory_on_the_map(browser: webdriver.Chrome, live_server: str,
                                                         committed_user: Callable[..., User],
                                                         sessions: sessionmaker[Session], tmp_path: Path) -> None:
    plate = commit_trajectory(sessions)
    user = committed_user("investigator")
    log_in(browser, live_server, user.username)
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: "/console/" in b.current_url and b.find_elements(By.CSS_SELECTOR, "#nav a"))
    browser.get(f"{live_server}/console/trajectory")
    wait.until(lambda b: b.find_elements(By.ID, "trajectory-form"))
    browser.find_element(By.ID, "plate").send_keys(plate)
    browser.find_element(By.ID, "reason").send_keys("案件 2026-301 replay test")
    browser.execute_script("document.getElementById('start').value = '2019-06-12T00:00';"
                           "document.getElementById('end').value = '2019-06-13T12:00';")
    browser.find_element(By.ID, "trajectory-search").click()
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "path.trip-line")) == 6)
    assert "2 段行程 trips" in browser.find_element(By.ID, "trajectory-status").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.pass-marker")) == 8

    def vehicle_at() -> str:
        return str(browser.find_element(By.CSS_SELECTOR, "path.replay-vehicle").get_attribute("d"))

    start_position, start_clock = vehicle_at(), browser.find_element(By.ID, "replay-time").text
    browser.execute_script("const s = document.getElementById('replay-slider'); s.value = 1800;"
                           "s.dispatchEvent(new Event('input'));")
    assert vehicle_at() != start_position
    clock = browser.find_element(By.ID, "replay-time").text
    assert clock != start_clock and "km/h" in clock  # half an hour in: on the road between checkpoints
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-trajectory.png"))


def test_an_investigator_runs_an_analysis(browser: webdriver.Chrome, live_server: str,
                                          committed_user: Callable[..., User], sessions: sessionmaker[Session],
                                          tmp_path: Path) -> None:
    plate = commit_trajectory(sessions)  # passes the first checkpoint twice on DAY
    with sessions() as session:
        first = session.scalars(select(Checkpoint.code).order_by(Checkpoint.code)).first()
    user = committed_user("investigator")
    log_in(browser, live_server, user.username)
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a"))
    browser.get(f"{live_server}/console/analyses")
    wait.until(lambda b: b.find_elements(By.ID, "analysis-kind"))
    browser.execute_script("const k = document.getElementById('analysis-kind'); k.value = 'frequent';"
                           "k.dispatchEvent(new Event('change'));")
    browser.execute_script(
        "const f = document.getElementById('analysis-form');"
        "f.elements.start.value = '2019-06-12T00:00'; f.elements.end.value = '2019-06-13T00:00';"
        f"f.elements.checkpoint.value = '{first}'; f.elements.min_passes.value = '2';")
    browser.find_element(By.ID, "analysis-reason").send_keys("案件 2026-302 frequent passing")
    browser.find_element(By.ID, "analysis-run").click()
    wait.until(lambda b: plate in b.find_element(By.ID, "analysis-table").text)
    assert "条结果 results" in browser.find_element(By.ID, "analysis-status").text
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-analyses.png"))
    # a result opens the plate's trajectory over the analysed window, with its passes listed beside the replay
    assert first is not None
    row = next(tr for tr in browser.find_elements(By.CSS_SELECTOR, "#analysis-table tr") if plate in tr.text)
    row.find_element(By.CSS_SELECTOR, "a.open-trajectory").click()
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#pass-table tr[data-pass]")) == 8)
    assert browser.find_element(By.ID, "plate").get_attribute("value") == plate
    assert browser.find_element(By.ID, "start").get_attribute("value") == "2019-06-12T00:00"
    assert browser.find_element(By.ID, "end").get_attribute("value") == "2019-06-13T00:00"
    first_row = browser.find_elements(By.CSS_SELECTOR, "#pass-table tr[data-pass]")[0]
    assert first in first_row.text and "2019/06/12 08:00:00" in first_row.text  # time (site zone), checkpoint
    first_row.click()
    wait.until(lambda b: first in b.find_element(By.ID, "pass-image-view").text)
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-trajectory-passes.png"))
