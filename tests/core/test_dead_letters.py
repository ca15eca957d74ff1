"""Dead letters are never silent: admins list them (API, CLI), see a count, and replay them onto their
original stream, audited."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.bus import DEAD_STREAM, dead_letter, ensure_group
from checkpoint.core.models import AuditEntry

DEAD = "/api/v1/dead-letters"
SOURCE = "checkpoint:test-source"


def park(bus: Redis, fields: dict[str, str], reason: str) -> str:
    """Append a message to the source stream, read it through a group, and dead-letter it as a consumer does."""
    ensure_group(bus, SOURCE, "testers")
    msg_id = str(bus.xadd(SOURCE, fields))  # type: ignore[arg-type]  # str -> str is a valid field map
    bus.xreadgroup("testers", "t1", {SOURCE: ">"}, count=10)
    dead_letter(bus, SOURCE, "testers", msg_id, fields, reason)
    return msg_id


def test_dead_letters_listed_and_replayed(client: TestClient, bus: Redis, session: Session,
                                          auth_headers: Callable[..., dict[str, str]],
                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="checkpoint.core.bus"):
        first = park(bus, {"plate": "粤L12345", "n": "1"}, "not a pass event: KeyError('captured_at')")
    assert [record.getMessage() for record in caplog.records] == ["core.dead_lettered"]  # never silent
    assert caplog.records[0].__dict__["msg_id"] == first
    park(bus, {"plate": "粤L67890", "n": "2"}, "failed 3 deliveries")
    admin = auth_headers("admin")
    assert client.get(DEAD, headers=auth_headers("dispatcher")).status_code == 403

    summary = client.get(f"{DEAD}/summary", headers=admin).json()
    assert summary["count"] == 2 and summary["by_stream"] == {SOURCE: 2} and summary["newest_at"]
    listed = client.get(DEAD, headers=admin).json()
    assert [row["fields"]["n"] for row in listed] == ["2", "1"]  # newest first
    oldest = listed[1]
    assert oldest["stream"] == SOURCE and oldest["original_id"] == first and oldest["group"] == "testers"
    assert oldest["reason"].startswith("not a pass event") and oldest["fields"] == {"plate": "粤L12345", "n": "1"}
    assert bus.xpending(SOURCE, "testers")["pending"] == 0  # acked at the source: nothing retries it

    replayed = client.post(f"{DEAD}/{oldest['id']}/replay", json={"note": "fixed the parser"}, headers=admin)
    assert replayed.status_code == 200, replayed.text
    [done] = replayed.json()
    back: Any = bus.xrange(SOURCE, min=done["new_id"], max=done["new_id"])
    assert back[0][1] == {"plate": "粤L12345", "n": "1"}  # the original fields, on the original stream
    fresh: Any = bus.xreadgroup("testers", "t2", {SOURCE: ">"}, count=10)
    assert [fields["n"] for _id, fields in fresh[0][1]] == ["1"]  # the group reads it again
    assert client.get(f"{DEAD}/summary", headers=admin).json()["count"] == 1
    again = client.post(f"{DEAD}/{oldest['id']}/replay", json={}, headers=admin)
    assert again.status_code == 404 and again.json()["reason"] == "dead-letter-not-found"
    assert client.post(f"{DEAD}/not-an-id/replay", json={}, headers=admin).status_code == 422
    audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "dead_letter.replay")).all()
    assert any(row.reason == "fixed the parser" and row.detail["dead_id"] == oldest["id"] for row in audited)

    everything = client.post(f"{DEAD}/replay?stream={SOURCE}", json={}, headers=admin)
    assert [row["stream"] for row in everything.json()] == [SOURCE]
    assert bus.xlen(DEAD_STREAM) == 0


def test_dead_letters_cli_lists_and_replays_all(bus: Redis, engine: Engine, servers: tuple[str, str],
                                               sessions: sessionmaker[Session]) -> None:
    park(bus, {"n": "cli"}, "refused for the CLI test")
    env = {**os.environ, "CHECKPOINT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "CHECKPOINT_REDIS_URL": servers[1]}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "checkpoint.dead_letters_cli", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert SOURCE in listed.stdout and "refused for the CLI test" in listed.stdout
    assert cli("replay").returncode == 2  # neither an id nor --all
    replayed = cli("replay", "--all", "--stream", SOURCE, "--note", "cli test")
    assert replayed.returncode == 0, replayed.stderr
    assert f"-> {SOURCE}" in replayed.stdout and bus.xlen(DEAD_STREAM) == 0
    with sessions() as db:
        rows = db.scalars(select(AuditEntry).where(AuditEntry.action == "dead_letter.replay",
                                                   AuditEntry.reason == "cli test")).all()
    assert len(rows) == 1 and rows[0].actor_name.startswith("cli:")
