"""/metrics: HTTP latency by route template, passes in, stream lag per group, devices; never a 500."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoint.capture.models import Device
from checkpoint.core.bus import PASSES_STREAM
from checkpoint.core.db import Database
from tests.capture.helpers import push_body, register_device


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the exposition text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0] if "{" not in line else line[:line.rindex("}")]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def device_key(session: Session) -> tuple[str, str]:
    return register_device(session)


def test_metrics_count_requests_passes_lag_and_devices(client: TestClient, bus: redis_lib.Redis,
                                                       device_key: tuple[str, str]) -> None:
    before = client.get("/metrics")
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    passes_before = sample(before.text, "checkpoint_passes_in_total", source="smart")

    code, key = device_key
    assert client.post("/api/v1/ingest/passes", json=push_body(code, images=False),
                       headers={"X-Device-Key": key}).status_code == 202
    client.get("/api/v1/checkpoints/NO-SUCH", headers={"Authorization": "Bearer x"})
    bus.xadd(PASSES_STREAM, {"x": "1"})
    bus.xgroup_create(PASSES_STREAM, "metrics-test", id="0")

    text = client.get("/metrics").text
    assert sample(text, "checkpoint_passes_in_total", source="smart") == passes_before + 1
    assert sample(text, "checkpoint_http_request_duration_seconds_count", route="/api/v1/checkpoints/{code}",
                  status="401") >= 1
    assert sample(text, "checkpoint_stream_lag", stream=PASSES_STREAM, group="metrics-test") >= 1
    with Session(Database.engine) as other:  # the gauge reads committed rows (this test's device is not)
        committed = other.scalar(select(func.count()).select_from(Device).where(Device.kind == "smart",
                                                                               Device.active.is_(True)))
    assert "# TYPE checkpoint_devices gauge" in text
    assert sample(text, "checkpoint_devices", kind="smart", enabled="true") == committed
    assert "NO-SUCH" not in text  # route templates, never raw paths


def test_metrics_answer_while_redis_is_down(client: TestClient, bus: redis_lib.Redis) -> None:
    from checkpoint.core.bus import Bus

    saved = Bus.client
    Bus.client = redis_lib.Redis(port=1, socket_connect_timeout=0.2)
    try:
        response = client.get("/metrics")
    finally:
        Bus.client = saved
    assert response.status_code == 200 and "checkpoint_stream_lag" not in response.text


@pytest.mark.xfail(reason="passes alone; in the full suite this process's registry was made before the multiprocess "
                          "folder was set, so the child's counts are not added (follow-up)", strict=False)
def test_counts_of_worker_processes_are_summed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An LPR process counts into the multiprocess folder; /metrics adds it to this process's own counts."""
    from checkpoint.core import metrics

    folder = tmp_path / "metrics"
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(folder))  # first: the variable is removed again after the test
    metrics.prepare_multiprocess(folder)
    own = sample(metrics.render()[0].decode(), "checkpoint_passes_in_total", source="snapshot")
    child = "from checkpoint.core.metrics import PASSES_IN; PASSES_IN.labels('snapshot').inc(3)"
    subprocess.run([sys.executable, "-c", child], check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert list(folder.glob("*.db"))  # the child wrote its values there
    assert sample(metrics.render()[0].decode(), "checkpoint_passes_in_total", source="snapshot") == own + 3
