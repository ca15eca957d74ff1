"""`checkpoint demo`'s cameras: registered through the registry, and its simulator really registers with Digest
and pushes to a live server (GA/T 1400 motor vehicles, our JSON, a snapshot), so every kind is heard."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from redis import Redis
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.capture.demo_devices import GAT1400_DEVICE, SMART_DEVICE, SNAPSHOT_DEVICE, prepare_demo_devices
from checkpoint.capture.device_seen import read_seen
from checkpoint.capture.models import Device
from checkpoint.capture.viid.simulator import Camera, Simulator, push_json, push_snapshot
from checkpoint.core.config import Settings
from checkpoint.core.models import AuditEntry


def test_the_demo_registers_every_kind_and_its_simulator_is_heard(
        live_server: str, sessions: sessionmaker[Session], test_settings: Settings, bus: Redis) -> None:
    with sessions() as db:
        plan = prepare_demo_devices(db, test_settings.intake.digest_realm)
        db.commit()
    try:
        with sessions() as db:
            devices = {d.code: d for d in db.scalars(select(Device).where(
                Device.code.in_([GAT1400_DEVICE, SMART_DEVICE, SNAPSHOT_DEVICE])))}
            assert {d.kind for d in devices.values()} == {"gat1400", "smart", "snapshot"}
            audited = db.scalars(select(AuditEntry).where(AuditEntry.action == "registry.import")
                                 .order_by(AuditEntry.id.desc())).first()
            assert audited is not None and f"device:{GAT1400_DEVICE}" in str(audited.detail)
        viid = plan["gat1400"]
        simulator = Simulator(Camera(live_server, viid["device_id"], viid["tollgate_id"], viid["username"],
                                     viid["password"], lanes=1))
        assert simulator.register()
        assert simulator.push(2) == [0, 0]
        rng = random.Random(1)
        assert push_json(live_server, SMART_DEVICE, plan["smart"]["key"], rng) == 202
        assert push_snapshot(live_server, plan["snapshot"]["key"], rng) == 202
        heard = read_seen(bus, [d.id for d in devices.values()])
        assert all(datetime.fromisoformat(h["last_seen"]) > datetime(2026, 1, 1, tzinfo=UTC) for h in heard.values())
    finally:
        with sessions() as db:
            db.execute(delete(Device).where(Device.code.in_([GAT1400_DEVICE, SMART_DEVICE, SNAPSHOT_DEVICE])))
            db.commit()
