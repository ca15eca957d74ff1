"""`checkpoint user add/list/passwd` against the run's database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from checkpoint.core.config import get_settings
from checkpoint.core.db import Database
from checkpoint.core.models import AuditEntry, User
from checkpoint.core.security import verify_password
from checkpoint.user_cli import app


@pytest.fixture
def cli_env(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("CHECKPOINT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CHECKPOINT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    saved = Database.engine, Database.sessions  # the CLI configures and disposes its own
    yield
    Database.engine, Database.sessions = saved
    get_settings.cache_clear()


def test_user_add_prints_a_password_once_and_audits(cli_env: None, sessions: sessionmaker[Session]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["add", "chen.jie", "--role", "dispatcher", "--role", "officer"])
    assert result.exit_code == 0, result.output
    password = re.search(r"password \(shown once\): (\S+)", result.output)
    assert password
    with sessions() as session:
        user = session.scalar(select(User).where(User.username == "chen.jie"))
        assert user is not None and user.roles == ["dispatcher", "officer"]
        assert verify_password(user.password_hash, password.group(1))
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create",
                                                       AuditEntry.target == "chen.jie")) is not None
    listed = runner.invoke(app, ["list"])
    assert "chen.jie" in listed.output and "dispatcher,officer" in listed.output
    changed = runner.invoke(app, ["passwd", "chen.jie"])
    assert changed.exit_code == 0 and "new password for chen.jie" in changed.output


def test_user_add_refuses_bad_input_with_a_message(cli_env: None) -> None:
    runner = CliRunner()
    bad_role = runner.invoke(app, ["add", "liu.yang", "--role", "emperor"])
    assert bad_role.exit_code == 2 and "unknown role(s) emperor" in bad_role.output
    runner.invoke(app, ["add", "liu.yang", "--role", "officer"])
    again = runner.invoke(app, ["add", "liu.yang", "--role", "officer"])
    assert again.exit_code == 2 and "already exists" in again.output
    missing = runner.invoke(app, ["passwd", "nobody.here"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
