"""On the demo world (its history and its users): an officer registers a watch and the approver
approves it; the admin edits a checkpoint. Screenshots go to docs/img with `make screenshots`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import Select as Query
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.config import Settings
from checkpoint.core.models import AuditEntry
from checkpoint.demo import DEMO_USERS, ensure_demo_users
from checkpoint.demo_history import PlateImages, plan_history, store_history
from checkpoint.demo_planted import PlantedCases
from checkpoint.sites.models import Checkpoint
from tests.browser import log_in, screenshot_dir
from tests.waiting import wait_until


@dataclass(frozen=True)
class DemoWorld:
    planted: PlantedCases
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def demo_world(sessions: sessionmaker[Session], test_settings: Settings) -> Iterator[DemoWorld]:
    """A quarter-size demo history committed to the run's database (removed after), and the demo users."""
    now = datetime.now(UTC)
    with sessions() as session:
        plan = plan_history(session, now, ZoneInfo(test_settings.timezone), scale=0.25)
        images = PlateImages(test_settings.data_dir)
        store_history(session, plan, images)
        session.commit()
        images.render_missing()
    passwords = ensure_demo_users(sessions)
    assert set(passwords) == set(DEMO_USERS), "the demo users exist already: their passwords are unknown"
    plates = sorted({v.plate for v in [*plan.fleet.vehicles, *plan.planted.vehicles]})
    yield DemoWorld(plan.planted, passwords)
    with sessions() as session:
        session.execute(text("SET LOCAL checkpoint.retention = 'on'"))  # as the retention job deletes
        session.execute(text("DELETE FROM pass WHERE captured_at >= :start AND plate = ANY(:plates)"),
                        {"start": plan.start, "plates": plates})
        session.commit()


def test_officer_registers_a_watch_and_the_approver_approves_it(
        demo_world: DemoWorld, browser: webdriver.Chrome, live_server: str, tmp_path: Path) -> None:
    shots = screenshot_dir(tmp_path)
    plate = demo_world.planted.night_plate
    log_in(browser, live_server, "demo.officer", demo_world.passwords["demo.officer"])
    wait_until(lambda: browser.current_url.endswith("/console/map") or "/console" in browser.current_url,
               what="the console after login")
    browser.get(f"{live_server}/console/watchlist")
    wait_until(lambda: browser.find_elements(By.ID, "watch-form"), what="the watch form")
    browser.find_element(By.ID, "watch-pattern").send_keys(plate)
    Select(browser.find_element(By.NAME, "category")).select_by_value("case_related")
    browser.find_element(By.ID, "watch-reason").send_keys("案件 2026-311：夜间盗窃嫌疑车辆 night burglary suspect")
    browser.find_element(By.ID, "watch-preview-button").click()  # the demo week: the car's passes every night
    wait_until(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#watch-preview tr")) >= 10,
               what="the 30-day preview listing the night car's passes")
    browser.find_element(By.ID, "watch-submit").click()
    row = f"#watch-table tr[data-pattern='{plate}']"
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, f"{row}[data-status='pending']"),
               what="the watch pending approval")
    browser.save_screenshot(str(shots / "demo-watch-registered.png"))

    log_in(browser, live_server, "demo.approver", demo_world.passwords["demo.approver"])
    wait_until(lambda: "/console" in browser.current_url, what="the console after login")
    browser.get(f"{live_server}/console/watchlist")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, f"{row} button.approve"), what="the approve button")
    browser.find_element(By.ID, "decision-reason").send_keys("已核实案件编号 case number checked")
    browser.find_element(By.CSS_SELECTOR, f"{row} button.approve").click()
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, f"{row}[data-status='active']"),
               what="the watch approved and active")
    assert "已批准" in browser.find_element(By.ID, "watch-message").text
    browser.save_screenshot(str(shots / "demo-watch-approved.png"))


def test_admin_edits_a_checkpoint_in_the_console(
        demo_world: DemoWorld, browser: webdriver.Chrome, live_server: str, tmp_path: Path,
        sessions: sessionmaker[Session]) -> None:
    shots = screenshot_dir(tmp_path)
    with sessions() as session:
        site = session.scalars(select_checkpoint("HZ-441302-03")).one()
        lanes, name, lat, lon, edge_id = site.lanes, site.name, site.lat, site.lon, site.edge_id
    log_in(browser, live_server, "demo.admin", demo_world.passwords["demo.admin"])
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#nav a[data-page='checkpoints']"),
               what="the checkpoints page in the admin's menu")
    browser.get(f"{live_server}/console/checkpoints")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#checkpoints-table tr[data-code]"),
               what="the checkpoint list")
    browser.find_element(By.ID, "cp-admin-filter").send_keys("441302-03")
    browser.find_element(By.CSS_SELECTOR, "tr[data-code='HZ-441302-03'] a.cp-edit-link").click()
    wait_until(lambda: browser.find_elements(By.ID, "cp-form"), what="the edit form")
    form = browser.find_element(By.ID, "cp-form")
    new_name = name + "（东移）"
    form.find_element(By.NAME, "name").clear()
    form.find_element(By.NAME, "name").send_keys(new_name)
    form.find_element(By.NAME, "lanes").clear()
    form.find_element(By.NAME, "lanes").send_keys(str(lanes + 1))
    Select(form.find_element(By.NAME, "retention_class")).select_by_value("2")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#cp-minimap .leaflet-interactive"),
               what="the checkpoint on the small map")
    minimap = browser.find_element(By.ID, "cp-minimap")
    ActionChains(browser).move_to_element_with_offset(minimap, 60, 20).click().perform()  # from its centre
    assert float(form.find_element(By.NAME, "lon").get_attribute("value") or 0) > lon  # moved east by the click
    form.find_element(By.NAME, "change_reason").send_keys("道路拓宽，新增一条车道 (road widened)")
    browser.save_screenshot(str(shots / "demo-checkpoint-edit.png"))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(lambda: "已保存" in browser.find_element(By.ID, "cp-message").text, what="the saved message")

    def row_text() -> str:  # the list is drawn again after the save: read the row afresh each time
        try:
            return str(browser.find_element(By.CSS_SELECTOR, "tr[data-code='HZ-441302-03']").text)
        except (NoSuchElementException, StaleElementReferenceException):
            return ""

    wait_until(lambda: new_name in row_text() and str(lanes + 1) in row_text(), what="the list showing the change")
    browser.save_screenshot(str(shots / "demo-checkpoint-saved.png"))
    with sessions() as session:
        site = session.scalars(select_checkpoint("HZ-441302-03")).one()
        assert (site.name, site.lanes, site.retention_class) == (new_name, lanes + 1, 2)
        assert site.lon > lon and site.lat < lat
        entry = session.scalars(select_audit("checkpoint.update", "HZ-441302-03")).first()
        assert entry is not None and entry.reason == "道路拓宽，新增一条车道 (road widened)"
        site.name, site.lanes, site.retention_class = name, lanes, 1  # the next test sees the checkpoint as loaded
        site.lat, site.lon, site.edge_id = lat, lon, edge_id
        session.commit()


def select_checkpoint(code: str) -> Query[Checkpoint]:
    return select(Checkpoint).where(Checkpoint.code == code)


def select_audit(action: str, target: str) -> Query[AuditEntry]:
    return select(AuditEntry).where(AuditEntry.action == action, AuditEntry.target == target).order_by(
        AuditEntry.id.desc())
