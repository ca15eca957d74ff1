"""过车查询 and the audit log in a real Chromium: an investigator searches and exports; an auditor
filters the log down to that investigator's searches and exports it."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import audit
from checkpoint.core.config import Settings
from checkpoint.core.models import AuditEntry, User
from checkpoint.passes import partitions, store
from checkpoint.passes.record import CapturedPass
from checkpoint.sites.models import Checkpoint
from tests.browser import log_in, screenshot_dir

FETCH_TEXT = """const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: "same-origin"}).then(r => r.text()).then(done, e => done("ERROR " + e));"""


def crop(text: str) -> bytes:
    image = np.full((36, 120, 3), (191, 95, 31), np.uint8)
    cv2.putText(image, text, (6, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return bytes(buf.tobytes())


def stored_passes(sessions: sessionmaker[Session], data_dir: Path) -> tuple[str, list[str], Checkpoint]:
    """Four committed passes of the last hour: three plates of one wildcard pattern at one checkpoint, with crops."""
    prefix = "琼" + secrets.choice("ABCDEFGHJK")
    tail = secrets.choice("CEFHJKMNPRWXY")
    plates = [f"{prefix}7{tail}8{end}" for end in ("2F", "3M", "5W")] + [f"{prefix}7{tail}9{'4P'}"]
    now = datetime.now(UTC)
    with sessions() as session:
        checkpoint = session.scalars(select(Checkpoint).order_by(Checkpoint.code)).first()
        assert checkpoint is not None
        partitions.ensure_day_partitions(session.connection(), (now - timedelta(days=1)).date(), now.date())
        passes = []
        for minutes, plate in enumerate(plates, start=5):
            relpath = f"images/search-{plate.encode().hex()}.jpg"
            (data_dir / "images").mkdir(parents=True, exist_ok=True)
            (data_dir / relpath).write_bytes(crop(plate[1:]))
            passes.append(CapturedPass(checkpoint_id=checkpoint.id, plate=plate, plate_colour="blue",
                                       captured_at=now - timedelta(minutes=minutes), direction="in",
                                       vehicle_colour="white", vehicle_type="suv", vehicle_brand="广汽传祺",
                                       plate_image_path=relpath, source="test"))
        store.insert_passes(session.connection().connection.dbapi_connection, passes,
                            {checkpoint.id: (checkpoint.lat, checkpoint.lon)}, datetime.now(UTC))
        session.commit()
    return f"{prefix}7{tail}8*", plates, checkpoint


def newest(sessions: sessionmaker[Session], action: str, actor: str) -> AuditEntry | None:
    with sessions() as session:
        return session.scalars(select(AuditEntry).where(AuditEntry.action == action, AuditEntry.actor_name == actor)
                               .order_by(AuditEntry.id.desc())).first()


def test_an_investigator_searches_passes_and_exports_them(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User],
        sessions: sessionmaker[Session], test_settings: Settings, tmp_path: Path) -> None:
    pattern, plates, checkpoint = stored_passes(sessions, test_settings.data_dir)
    user = committed_user("investigator")
    log_in(browser, live_server, user.username)
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=search]"))
    browser.find_element(By.CSS_SELECTOR, "#nav a[data-page=search]").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#search-place-options option"))
    browser.execute_script("document.getElementById('search-start').value = arguments[0];",
                           (datetime.now(UTC) + timedelta(hours=8) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    place = browser.find_element(By.ID, "search-place")
    place.send_keys(f"卡口 {checkpoint.code} {checkpoint.name}")
    place.send_keys(Keys.TAB)
    wait.until(lambda b: checkpoint.code in b.find_element(By.ID, "search-places").text)
    browser.find_element(By.ID, "search-plate").send_keys(pattern)
    Select(browser.find_element(By.ID, "search-plate-mode")).select_by_value("wildcard")
    Select(browser.find_element(By.ID, "search-vehicle-type")).select_by_value("suv")
    browser.find_element(By.ID, "search-reason").send_keys("盗抢案 HZ-2026-0099 排查")
    browser.find_element(By.ID, "search-button").click()
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#search-results tr[data-pass-id]")) == 3)
    status = browser.find_element(By.ID, "search-status").text
    assert "共 3 条" in status and plates[0] in status and plates[3] not in status
    rows = browser.find_elements(By.CSS_SELECTOR, "#search-results tr[data-pass-id]")
    assert [row.find_element(By.CSS_SELECTOR, ".plate").text for row in rows] == plates[:3]  # newest first
    assert f"{checkpoint.code} {checkpoint.name}" in rows[0].text and "SUV" in rows[0].text
    wait.until(lambda b: all(b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                             for img in b.find_elements(By.CSS_SELECTOR, "img.search-thumb")))
    link = rows[0].find_element(By.CSS_SELECTOR, "a.trajectory-link").get_attribute("href") or ""
    assert "/console/trajectory?" in link and "plate=" in link
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "pass-search.png"))
    searched = newest(sessions, "pass.search", user.username)
    assert searched is not None and searched.target == pattern and searched.reason == "盗抢案 HZ-2026-0099 排查"

    export = browser.find_element(By.ID, "search-export")
    href = export.get_attribute("href") or ""
    export.click()
    wait.until(lambda _b: newest(sessions, "pass.export.csv", user.username) is not None)
    text = browser.execute_async_script(FETCH_TEXT, href)
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row[1] for row in table[1:]] == plates[:3] and table[1][4] == checkpoint.code


def test_an_auditor_filters_the_log_and_exports_it(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User],
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    investigator, other = committed_user("investigator"), committed_user("investigator")
    plate = "粤L" + "".join(secrets.choice("CEFHJKMNPRWXY") for _ in range(5))
    with sessions() as session:
        for who, action, target in ((investigator, "pass.search", plate), (investigator, "trajectory.search", plate),
                                    (investigator, "pass.search", "粤LK7788"), (other, "pass.search", plate)):
            audit.record(session, session.get(User, who.id), action, target=target, reason="盗抢案 排查",
                         client_ip="10.8.0.7")
        session.commit()
    auditor = committed_user("auditor")
    log_in(browser, live_server, auditor.username)
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#nav a[data-page=audit]"))
    browser.get(f"{live_server}/console/audit")
    wait.until(lambda b: "auth.login" in b.find_element(By.ID, "audit-table").text)
    browser.find_element(By.ID, "audit-actor").send_keys(investigator.username)
    Select(browser.find_element(By.ID, "audit-action")).select_by_value("pass.")
    browser.find_element(By.ID, "audit-target").send_keys(plate)
    browser.find_element(By.ID, "audit-search").click()
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#audit-table tr[data-id]")) == 1)
    row = browser.find_element(By.CSS_SELECTOR, "#audit-table tr[data-id]").text
    assert investigator.username in row and "pass.search" in row and plate in row and "盗抢案" in row
    assert "1 条" in browser.find_element(By.ID, "audit-status").text
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "audit-filter.png"))

    export = browser.find_element(By.ID, "audit-export")
    export.click()
    wait.until(lambda _b: newest(sessions, "audit.export.csv", auditor.username) is not None)
    exported = newest(sessions, "audit.export.csv", auditor.username)
    assert exported is not None and exported.detail["target"] == plate and exported.detail["action"] == "pass."
    text = browser.execute_async_script(FETCH_TEXT, export.get_attribute("href"))
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r[2], r[3], r[4]) for r in table[1:]] == [(investigator.username, "pass.search", plate)]
