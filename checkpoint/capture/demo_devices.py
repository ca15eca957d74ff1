"""`checkpoint demo`'s cameras of every pushing kind, registered through the registry like a site's, and the
process that plays them: a GA/T 1400 camera (Digest, keepalives, motor vehicles), a smart camera pushing
our JSON, and a snapshot camera, so a newcomer sees every kind online on 设备 Devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture import registry, service
from checkpoint.capture.models import Device
from checkpoint.capture.viid.service import directory as viid_directory
from checkpoint.core import audit
from checkpoint.core.security import generate_password
from checkpoint.sites.models import Checkpoint

GAT1400_DEVICE = "44130200001190000001"
GAT1400_TOLLGATE = "44130200001210000001"
SMART_DEVICE = "DEMO-SMART-01"
SNAPSHOT_DEVICE = "DEMO-SNAPSHOT-01"
SIMULATOR_ENV = "CHECKPOINT_SIMULATOR"  # the simulator's devices and secrets, as JSON in its environment


def prepare_demo_devices(session: Session, realm: str) -> dict[str, Any]:
    """Register (or refresh) the demo's three pushing cameras; fresh secrets each start. The caller commits."""
    checkpoints = list(session.scalars(select(Checkpoint).where(Checkpoint.active).order_by(Checkpoint.id).limit(3)))
    if len(checkpoints) < 3:
        return {}
    password = generate_password()
    rows = [
        {"checkpoint": checkpoints[0].code, "lane": "1", "kind": "gat1400", "code": GAT1400_DEVICE,
         "name": "演示 GA/T 1400 卡口相机", "tollgate_id": GAT1400_TOLLGATE, "digest_username": "demo-cam",
         "digest_password": password},
        {"checkpoint": checkpoints[1].code, "lane": "1", "kind": "smart", "code": SMART_DEVICE, "name": "演示智能相机"},
        {"checkpoint": checkpoints[2].code, "lane": "1", "kind": "snapshot", "code": SNAPSHOT_DEVICE,
         "name": "演示抓拍相机"},
    ]
    report = registry.import_rows(session, rows, realm)
    if report.changes:
        audit.record(session, None, "registry.import", actor_name="demo", detail=registry.audit_detail(report))
    keys = {}
    for code in (SMART_DEVICE, SNAPSHOT_DEVICE):
        device = session.scalars(select(Device).where(Device.code == code)).one()
        keys[code] = service.reissue_key(session, device)
    viid_directory.forget()
    return {"gat1400": {"device_id": GAT1400_DEVICE, "tollgate_id": GAT1400_TOLLGATE, "username": "demo-cam",
                        "password": password, "lanes": checkpoints[0].lanes},
            "smart": {"code": SMART_DEVICE, "key": keys[SMART_DEVICE]},
            "snapshot": {"code": SNAPSHOT_DEVICE, "key": keys[SNAPSHOT_DEVICE]}}


def start_demo_devices(sessions: sessionmaker[Session], realm: str, base_url: str,
                       stop: threading.Event) -> threading.Thread:
    """Register the cameras, then run the simulator process until `stop` (secrets go by environment, not argv)."""

    def run() -> None:
        with sessions() as session:
            plan = prepare_demo_devices(session, realm)
            session.commit()
        if not plan or stop.is_set():
            return
        env = {**os.environ, SIMULATOR_ENV: json.dumps({"base_url": base_url, **plan})}
        process = subprocess.Popen([sys.executable, "-m", "checkpoint", "capture", "simulate"], env=env)
        stop.wait()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

    thread = threading.Thread(target=run, name="demo-devices", daemon=True)
    thread.start()
    return thread
