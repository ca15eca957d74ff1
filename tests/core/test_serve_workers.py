"""`checkpoint serve --workers N`: N API processes answer on one port; the stream workers run once."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psutil
import redis as redis_lib
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from checkpoint.capture import service
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.bus import PASSES_STREAM
from checkpoint.passes.record import PassEvent
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import push_body
from tests.test_system_embedded import free_port
from tests.waiting import wait_until

CHECKPOINT = Path(sys.executable).with_name("checkpoint")


def test_two_api_processes_take_pushes_and_the_one_writer_stores_them(
        engine: Engine, servers: tuple[str, str], tmp_path: Path) -> None:
    with sessionmaker(bind=engine)() as db:  # committed: the server's processes must see the device
        checkpoint = db.scalars(select(Checkpoint).order_by(Checkpoint.id)).first()
        assert checkpoint is not None
        code = f"W2-{secrets.token_hex(4)}"
        _device, key = service.register_device(db, DeviceCreate(code=code, checkpoint=checkpoint.code))
        db.commit()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINT_")}
    env.update(CHECKPOINT_DATABASE_URL=engine.url.render_as_string(hide_password=False),
               CHECKPOINT_REDIS_URL=servers[1], CHECKPOINT_DATA_DIR=str(tmp_path),
               CHECKPOINT_SECRET_KEY=secrets.token_urlsafe(32), CHECKPOINT_PORT=str(port))
    process = subprocess.Popen([str(CHECKPOINT), "serve", "--workers", "2"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bus = redis_lib.Redis.from_url(servers[1], decode_responses=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            wait_until(lambda: _healthy(client), timeout_s=60, what="the API processes to answer")
            api_processes = [child for child in psutil.Process(process.pid).children()
                             if "spawn_main" in " ".join(child.cmdline())]
            assert len(api_processes) == 2
            last = bus.xinfo_stream(PASSES_STREAM)["last-generated-id"] if bus.exists(PASSES_STREAM) else "0"
            accepted = set()
            for _ in range(20):
                response = client.post("/api/v1/ingest/passes", json=push_body(code, images=False),
                                       headers={"X-Device-Key": key})
                assert response.status_code == 202, response.text
                accepted.add(response.json()["pass_id"])
        stored: set[str] = set()

        def all_stored() -> bool:
            reply: Any = bus.xread({PASSES_STREAM: last}, count=1000)  # redis stubs: sync and async in one type
            for _stream, entries in reply or []:
                stored.update(str(PassEvent.from_fields(fields).pass_id) for _id, fields in entries)
            return accepted <= stored

        wait_until(all_stored, timeout_s=30, what="the serving process's writer to store the 20 pushes")
    finally:
        process.send_signal(signal.SIGINT)
        exit_code = process.wait(timeout=60)
        bus.close()
    assert exit_code == 0


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/api/v1/health").status_code == 200
    except httpx.TransportError:
        return False
