"""User administration in a real Chromium: a security admin edits a user's roles (approver waits for a
second one), a system admin disables a user and resets a password shown once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.models import AuditEntry, RoleGrant, User
from tests.browser import log_in, screenshot_dir
from tests.conftest import PASSWORD


def row_of(browser: webdriver.Chrome, username: str) -> webdriver.remote.webelement.WebElement:
    return browser.find_element(By.CSS_SELECTOR, f"#users-table tr[data-user='{username}']")


def test_admin_edits_a_users_roles(browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User],
                                   sessions: sessionmaker[Session], tmp_path: Path) -> None:
    security, second, officer = committed_user("security_admin"), committed_user("security_admin"), \
        committed_user("officer")
    log_in(browser, live_server, security.username)
    wait = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,))  # the table re-renders
    wait.until(lambda b: "/console/" in b.current_url)
    browser.get(f"{live_server}/console/users")
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"#users-table tr[data-user='{officer.username}']"))
    row_of(browser, officer.username).find_element(By.CSS_SELECTOR, "button.edit-roles").click()
    editor = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, f"form.role-editor[data-user='{officer.username}']"))
    for role in ("investigator", "approver"):
        editor.find_element(By.CSS_SELECTOR, f"input[value='{role}']").click()
    editor.find_element(By.NAME, "reason").send_keys("调任侦查并兼任审批 moved to investigations, approves watches")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-users-edit-roles.png"))
    editor.find_element(By.CSS_SELECTOR, "button.save-roles").click()
    wait.until(lambda b: "审批人待另一名安全管理员确认" in b.find_element(By.ID, "users-message").text)
    cell = row_of(browser, officer.username).find_element(By.CSS_SELECTOR, ".roles-cell").text
    assert "侦查研判" in cell and "审批人" not in cell  # approver waits for the second security admin
    wait.until(lambda b: officer.username in b.find_element(By.ID, "grants-table").text)
    assert "awaiting another security admin" in browser.find_element(By.ID, "grants-table").text
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-users-roles.png"))

    log_in(browser, live_server, second.username)  # the second security admin confirms
    wait.until(lambda b: "/console/" in b.current_url)
    browser.get(f"{live_server}/console/users")
    button = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#grants-table button.confirm-grant"))
    button.click()
    wait.until(lambda b: "审批人" in row_of(b, officer.username).find_element(By.CSS_SELECTOR, ".roles-cell").text)
    with sessions() as db:
        changed = db.get_one(User, officer.id)
        assert changed.roles == ["approver", "investigator", "officer"]
        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.target == officer.username)).all()
        assert {"user.roles", "user.role_grant_confirm"} <= set(actions)
        grant = db.scalars(select(RoleGrant).where(RoleGrant.user_id == officer.id)).one()
        assert (grant.requested_by, grant.decided_by) == (security.id, second.id)


def test_admin_disables_a_user_and_resets_a_password_shown_once(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User],
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    admin, user = committed_user("admin"), committed_user("dispatcher")
    log_in(browser, live_server, admin.username)
    wait = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,))  # the table re-renders
    wait.until(lambda b: "/console/" in b.current_url)
    browser.get(f"{live_server}/console/users")
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"#users-table tr[data-user='{user.username}']"))
    assert not browser.find_elements(By.CSS_SELECTOR, "button.edit-roles")  # roles are the security admin's
    row_of(browser, user.username).find_element(By.CSS_SELECTOR, "button.toggle-active").click()
    wait.until(lambda b: "停用 disabled" in row_of(b, user.username).text)
    row_of(browser, user.username).find_element(By.CSS_SELECTOR, "button.reset-password").click()
    password = wait.until(lambda b: b.find_element(By.ID, "new-password")).text
    assert len(password) >= 12
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "console-users-reset.png"))
    browser.refresh()  # shown once: gone after a reload
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f"#users-table tr[data-user='{user.username}']"))
    assert not browser.find_elements(By.ID, "new-password")
    with sessions() as db:
        assert db.get_one(User, user.id).active is False
        assert db.get_one(User, user.id).password_set_by == admin.id


def test_a_user_changes_their_own_password_from_the_header(
        browser: webdriver.Chrome, live_server: str, committed_user: Callable[..., User],
        sessions: sessionmaker[Session]) -> None:
    user = committed_user("approver")
    log_in(browser, live_server, user.username)
    wait = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,))  # the table re-renders
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#user-badge a"))
    browser.find_element(By.CSS_SELECTOR, "#user-badge a").click()
    form = wait.until(lambda b: b.find_element(By.ID, "password-form"))
    assert browser.find_elements(By.ID, "totp-start")  # approvers may enrol a second factor
    assert "account" not in {a.get_attribute("data-page") for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")}
    form.find_element(By.NAME, "current_password").send_keys(PASSWORD)
    form.find_element(By.NAME, "new_password").send_keys("Lychee-orchard-51")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: b.current_url.endswith("/login"))
    log_in(browser, live_server, user.username, "Lychee-orchard-51")
    wait.until(lambda b: "/console/" in b.current_url)
    with sessions() as db:
        assert db.get_one(User, user.id).password_set_by is None
