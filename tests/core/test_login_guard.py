"""Logins under attack: parallel guessing, lockout from elsewhere, revocation, idleness, TLS, TOTP."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
import requests
import urllib3
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core import login_sessions
from checkpoint.core.bus import get_bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import utcnow
from checkpoint.core.models import AuditEntry, LoginSession, LoginThrottle, User
from checkpoint.core.security import password_problem
from checkpoint.core.settings_groups import AuthSettings
from tests.browser import _free_port
from tests.conftest import PASSWORD

LOGIN = "/api/v1/auth/login"


def test_forty_parallel_wrong_passwords_check_at_most_the_limit(
        live_server: str, committed_user: Callable[..., User], sessions: sessionmaker[Session],
        test_settings: Settings) -> None:
    """Why, line 3: 40 parallel wrong passwords got 34 checked, and the right one at #30 logged in."""
    user = committed_user("officer")
    def guess(n: int) -> int:
        return requests.post(live_server + LOGIN, json={"username": user.username, "password": f"Wrong-guess-{n}"},
                             timeout=60).status_code

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(guess, range(40)))
    right = requests.post(live_server + LOGIN, json={"username": user.username, "password": PASSWORD}, timeout=60)
    counted = Counter(answers)
    limit = test_settings.auth.lockout_limit
    assert counted[401] <= limit and counted[429] >= 40 - limit and set(counted) <= {401, 429}, counted
    assert right.status_code == 429 and "too many failed logins" in right.json()["detail"]
    with sessions() as db:
        checked = db.scalar(select(func.count()).where(AuditEntry.action == "auth.login_failed",
                                                       AuditEntry.actor_name == user.username))
    assert checked == counted[401] <= limit


def test_an_attacker_elsewhere_cannot_lock_the_real_user_out(client: TestClient, make_user: Callable[..., User],
                                                            test_settings: Settings) -> None:
    """Why, line 3: anyone could lock any name, admin included, from anywhere."""
    user = make_user("admin")
    attacker = TestClient(client.app, client=("203.0.113.9", 40000))
    real = TestClient(client.app, client=("10.44.2.17", 40001))
    for n in range(test_settings.auth.lockout_limit):
        assert attacker.post(LOGIN, json={"username": user.username, "password": f"Guess-{n}x"}).status_code == 401
    assert attacker.post(LOGIN, json={"username": user.username, "password": PASSWORD}).status_code == 429
    assert real.post(LOGIN, json={"username": user.username, "password": PASSWORD}).status_code == 200


def test_the_delay_doubles_with_each_further_failure(session: Session) -> None:
    auth = AuthSettings(lockout_limit=3, lockout_delay_s=60)
    start = utcnow()
    for _ in range(3):
        login_sessions.reserve_try(session, "li.na", "198.51.100.4", auth, now=start)
    with pytest.raises(login_sessions.LoginLocked, match="59 秒"):
        login_sessions.reserve_try(session, "li.na", "198.51.100.4", auth, now=start + timedelta(seconds=1))
    later = start + timedelta(seconds=61)
    login_sessions.reserve_try(session, "li.na", "198.51.100.4", auth, now=later)  # one try after the delay
    with pytest.raises(login_sessions.LoginLocked, match="120 秒"):
        login_sessions.reserve_try(session, "li.na", "198.51.100.4", auth, now=later)
    login_sessions.clear_tries(session, "li.na", "198.51.100.4")  # a successful login starts again
    login_sessions.reserve_try(session, "li.na", "198.51.100.4", auth, now=later)
    login_sessions.prune(session, now=later + timedelta(days=2))  # quiet for a day: forgotten
    assert session.get(LoginThrottle, ("li.na", "198.51.100.4"), populate_existing=True) is None


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(LOGIN, json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_logout_revokes_the_token(client: TestClient, make_user: Callable[..., User]) -> None:
    """Why, line 4: logout did not revoke the token."""
    user = make_user("investigator")
    token, other_login = login(client, user.username), login(client, user.username)
    assert client.get("/api/v1/auth/me", headers=token).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=token).status_code == 204
    after = client.get("/api/v1/auth/me", headers=token)
    assert after.status_code == 401 and "log in again" in after.json()["detail"]
    assert client.get("/api/v1/auth/me", headers=other_login).status_code == 200  # only that login ended


def test_a_password_change_revokes_every_login(client: TestClient, make_user: Callable[..., User]) -> None:
    user = make_user("officer")
    first, second = login(client, user.username), login(client, user.username)
    weak = client.post("/api/v1/auth/password", headers=first,
                       json={"current_password": PASSWORD, "new_password": "password123"})
    assert weak.status_code == 422 and "too common" in weak.json()["detail"]
    changed = client.post("/api/v1/auth/password", headers=first,
                          json={"current_password": PASSWORD, "new_password": "Harbour-lights-88"})
    assert changed.status_code == 204
    assert client.get("/api/v1/auth/me", headers=first).status_code == 401
    assert client.get("/api/v1/auth/me", headers=second).status_code == 401
    login(client, user.username, "Harbour-lights-88")


def test_an_idle_login_ends(client: TestClient, make_user: Callable[..., User], session: Session,
                            test_settings: Settings) -> None:
    user = make_user("dispatcher")
    token = login(client, user.username)
    assert client.get("/api/v1/auth/me", headers=token).status_code == 200
    idle = timedelta(seconds=test_settings.auth.idle_timeout_s + 1)
    session.execute(update(LoginSession).where(LoginSession.user_id == user.id)
                    .values(last_seen_at=utcnow() - idle))
    response = client.get("/api/v1/auth/me", headers=token)
    assert response.status_code == 401 and "idle" in response.json()["detail"]


@pytest.fixture
def tls_server(test_settings: Settings, tmp_path: Path, engine: object) -> Iterator[str]:
    """The app served over HTTPS (CHECKPOINT_TLS_CERT/KEY) with a self-signed certificate."""
    from checkpoint.core.bus import Bus
    from checkpoint.main import create_app

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    settings = test_settings.model_copy(update={"tls_cert": cert, "tls_key": key})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_bus] = lambda: Bus.client
    certfile, keyfile = settings.tls_files()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           ssl_certfile=certfile, ssl_keyfile=keyfile))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "TLS server did not start"
        time.sleep(0.05)
    yield f"https://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_served_over_tls_the_cookie_is_secure(tls_server: str, committed_user: Callable[..., User]) -> None:
    """Why, line 4: the cookie had no Secure flag by default; there was no TLS option."""
    user = committed_user("planner")
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # our own self-signed certificate
    response = requests.post(tls_server + LOGIN, json={"username": user.username, "password": PASSWORD},
                             verify=False, timeout=30)
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_totp_second_factor(client: TestClient, make_user: Callable[..., User]) -> None:
    user = make_user("approver")
    token = login(client, user.username)
    setup = client.post("/api/v1/auth/totp/setup", headers=token).json()
    assert setup["uri"].startswith("otpauth://totp/")
    assert client.post("/api/v1/auth/totp/enable", headers=token, json={"code": "000000"}).status_code == 422
    code = pyotp.TOTP(setup["secret"]).now()
    assert client.post("/api/v1/auth/totp/enable", headers=token, json={"code": code}).status_code == 204
    without = client.post(LOGIN, json={"username": user.username, "password": PASSWORD})
    assert without.status_code == 401 and without.json()["reason"] == "totp-required"
    wrong = client.post(LOGIN, json={"username": user.username, "password": PASSWORD, "totp": "123456"})
    assert wrong.status_code == 401 and "authenticator code" in wrong.json()["detail"]
    right = client.post(LOGIN, json={"username": user.username, "password": PASSWORD,
                                     "totp": pyotp.TOTP(setup["secret"]).now()})
    assert right.status_code == 200


def test_password_policy() -> None:
    assert password_problem("short1") is not None
    assert password_problem("abcdefghijkl") is not None  # letters only
    assert "too common" in (password_problem("Password2024!") or "")
    assert "user name" in (password_problem("zhangwei-2026x", "zhangwei") or "")
    assert "simple" in (password_problem("aaaa1111aaaa") or "")
    assert password_problem("Harbour-lights-88", "zhangwei") is None
