"""/health: the servers, the data directory (a real write), stream lag and dead letters; 200 only when ok."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from checkpoint.core import health
from checkpoint.core.bus import DEAD_STREAM, PASSES_STREAM, READS_STREAM, Bus, ensure_group
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import Database
from checkpoint.core.redis_process import free_port

URL = "/api/v1/health"
PLATE = "粤L12345"


def test_health_reports_an_unwritable_data_dir(client: TestClient, bus: redis_lib.Redis, tmp_path: Path,
                                               test_settings: Settings) -> None:
    good = client.get(URL)
    assert good.status_code == 200, good.text
    assert good.json()["status"] == "ok" and good.json()["checks"]["disk"]["writable"] is True
    assert good.json()["checks"]["disk"]["free_bytes"] > 0
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("a regular file: nothing can be created under it, not even by root")
    unwritable = test_settings.model_copy(update={"data_dir": a_file / "data"})
    client.app.dependency_overrides[get_settings] = lambda: unwritable  # type: ignore[attr-defined]  # the app
    response = client.get(URL)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "degraded" and body["postgres"] == "up" and body["redis"] == "up"
    assert body["checks"]["disk"]["writable"] is False
    assert "data-dir-unwritable" in body["problems"]
    assert str(a_file) not in response.text  # no paths for the unauthenticated


def test_health_reports_stream_lag_and_dead_letters(client: TestClient, bus: redis_lib.Redis,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(5):
        bus.xadd(READS_STREAM, {"captured.v2": f"{PLATE}\t{n}"})
    ensure_group(bus, READS_STREAM, "passes")
    bus.xreadgroup("passes", "t-writer", {READS_STREAM: ">"}, count=2)  # delivered, not acked
    bus.xadd(PASSES_STREAM, {"event.v2": PLATE})
    ensure_group(bus, PASSES_STREAM, "t-matcher")
    for _ in range(2):
        bus.xadd(DEAD_STREAM, {"captured.v2": PLATE, "_reason": "unknown checkpoint 999"})
    redis_7: bool = int(str(bus.info("server")["redis_version"]).split(".")[0]) >= 7  # XINFO's lag is 7.0's

    response = client.get(URL)
    assert response.status_code == 200, response.text
    body = response.json()
    groups = {(item["stream"], item["group"]): item for item in body["streams"]}
    assert groups[(READS_STREAM, "passes")] == {"stream": READS_STREAM, "group": "passes",
                                                "lag": 3 if redis_7 else None, "pending": 2, "consumers": 1}
    assert groups[(PASSES_STREAM, "t-matcher")]["lag"] == (1 if redis_7 else None)
    assert body["dead_letters"] == 2
    assert PLATE not in response.text and "unknown checkpoint" not in response.text

    if redis_7:
        monkeypatch.setattr(health, "MAX_STREAM_LAG", 2)  # the reads group is now too far behind
        lagging = client.get(URL)
        assert lagging.status_code == 503
        assert lagging.json()["status"] == "degraded"
        assert lagging.json()["problems"] == [f"stream-lag:{READS_STREAM}:passes"]


def test_health_is_degraded_without_postgresql_and_down_without_redis(client: TestClient,
                                                                      bus: redis_lib.Redis) -> None:
    """(The bus fixture makes the test's Redis the process's client, which /health reads.)"""
    nowhere = create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/none")
    saved_engine, Database.engine = Database.engine, nowhere
    try:
        no_database = client.get(URL)
        assert no_database.status_code == 503
        assert no_database.json()["status"] == "degraded" and no_database.json()["postgres"] == "down"
        assert no_database.json()["checks"]["postgres"] == {"reachable": False, "latency_ms": None}
        Bus.client = redis_lib.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
        neither = client.get(URL)
        assert neither.status_code == 503
        assert neither.json()["status"] == "down" and neither.json()["dead_letters"] is None
        assert set(neither.json()["problems"]) == {"postgres-unreachable", "redis-unreachable"}
    finally:
        Database.engine, Bus.client = saved_engine, bus
        nowhere.dispose()
