"""Browser fixtures shared by every domain's console test: a live server on the run's database,
one headless Chromium for the whole run, committed users, and logging in.

Registered for the whole suite by `pytest_plugins` in tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_lib
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import users
from checkpoint.core.bus import Bus, get_bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.models import User
from tests.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(engine: Engine, servers: tuple[str, str], test_settings: Settings) -> Iterator[str]:
    """The real app served by uvicorn in a thread; data is committed to the run's database."""
    from checkpoint.main import create_app

    # The shared client when one is configured (a test may swap in its own Redis), else a fallback:
    # per-test fixtures close the shared client between tests.
    fallback = redis_lib.Redis.from_url(servers[1], decode_responses=True)
    Bus.configure(servers[1])  # for the health route
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: test_settings
    app.dependency_overrides[get_bus] = lambda: Bus.client or fallback
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise AssertionError("live server did not start within 10 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium and chromium-driver are not installed (make test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1600,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def committed_user(sessions: sessionmaker[Session], request: pytest.FixtureRequest) -> Callable[..., User]:
    """A user committed to the run's database (the live server sees it)."""

    def make(*roles: str) -> User:
        with sessions() as session:
            name = f"{request.node.name[:20]}_{'_'.join(roles)}_{os.getpid()}_{time.monotonic_ns() % 100000}"
            user = users.create(session, username=name.replace("[", "_").replace("]", "_")[:64],
                                password=PASSWORD, roles=list(roles))
            session.commit()
            return user

    return make


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/img when CHECKPOINT_SCREENSHOTS names it (make screenshots), else the test's tmp dir."""
    chosen = os.environ.get("CHECKPOINT_SCREENSHOTS")
    path = Path(chosen) if chosen else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_in(browser: webdriver.Chrome, live_server: str, username: str, password: str = PASSWORD) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server}/login")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-button").click()
