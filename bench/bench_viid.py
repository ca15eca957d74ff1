"""GA/T 1400 MotorVehicles against our own JSON push, in one run; and a registry import of 120 checkpoints x 4 lanes.

    python -m bench.bench_viid --rate 480 --seconds 30 --images full

On a fresh database and a redis-server of its own (as bench_ingest): the API under uvicorn, the
passes writer, the watchlist matcher and the alert relay, each a process as a site runs them.
1. The registry: a CSV of 480 rows (120 checkpoints x 4 lanes, one GA/T 1400 camera per checkpoint
   reporting its TollgateID, and a smart camera per checkpoint) is POSTed to /api/v1/registry/import
   by an admin; its wall time is reported.
2. Each phase pushes `rate` passes a second for `seconds` from 120 devices on keep-alive connections:
   `json` our /api/v1/ingest/passes, `viid` GA/T 1400 /VIID/MotorVehicles (one object a request,
   after a Digest Register, User-Identify on each push). Phases alternate `--rounds` times.
"stored" is the time from starting a push to the pass's PassEvent on `checkpoint:passes` (after the
writer's commit). CPU is per process over the phase; API CPU per object is api CPU-seconds / objects.
Prints one JSON line per phase and one for the import.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

from bench.bench_ingest import ADMIN_URL, ROOT, _free_port, _wait_for_http, cpu_s, images_json, listen, pct
from bench.pushing import PacedPusher
from bench.scratch import ScratchDatabase
from checkpoint.capture import registry
from checkpoint.capture.service import RECORD_NAMESPACE
from checkpoint.core import login_sessions, users
from checkpoint.core.config import Settings
from checkpoint.core.db import Database
from checkpoint.core.digest import authorization_header
from checkpoint.runtime import prepare_database
from checkpoint.sites.models import Checkpoint

CST = timezone(timedelta(hours=8))
REALM = "checkpoint-viid"


def registry_csv(checkpoints: list[Checkpoint]) -> str:
    rows = []
    for number, checkpoint in enumerate(checkpoints, start=1):
        for lane in range(1, 5):
            rows.append({"checkpoint": checkpoint.code, "lane": str(lane), "direction": "in", "kind": "gat1400",
                         "code": f"4413020000119{number:07d}", "name": f"{checkpoint.name} 卡口相机",
                         "tollgate_id": f"4413020000121{number:07d}", "digest_username": f"cam{number}",
                         "digest_password": f"pw-{number}-bench", "enabled": "1"})
            rows.append({"checkpoint": checkpoint.code, "lane": str(lane), "direction": "in", "kind": "smart",
                         "code": f"B-{checkpoint.code}", "name": f"{checkpoint.name} 智能相机", "enabled": "1"})
    return registry.to_csv([{column: row.get(column, "") for column in registry.COLUMNS} for row in rows])


class JsonPusher(PacedPusher):
    def __init__(self, port: int, code: str, key: str, rate: float, until: float, images: str,
                 sent: dict[str, float], errors: list[str], push_s: list[float]) -> None:
        super().__init__(port, key, rate, until, errors, push_s)
        self.code, self.images, self.sent = code, images, sent

    def push(self, index: int) -> tuple[str, bytes, str]:
        body = (f'{{"device_id": "{self.code}", "record_id": "{self.code}-{uuid.uuid4().hex[:12]}", '
                f'"plate_no": "粤L{secrets.randbelow(100000):05d}", "plate_colour": "blue", "lane_no": '
                f'{1 + index % 4}, "direction": "in", "pass_time": "{datetime.now(UTC).isoformat()}", '
                f'"speed": 55.0, "images": {self.images}}}').encode()
        return "/api/v1/ingest/passes", body, "application/json"

    def accepted(self, index: int, reply: Any, started: float) -> None:
        self.sent[reply["pass_id"]] = started


class ViidPusher(PacedPusher):
    """One GA/T 1400 camera: one MotorVehicleObject a request, User-Identify instead of a key."""

    expected_status = 200

    def __init__(self, port: int, device_id: str, tollgate: str, rate: float, until: float, images: list[Any],
                 sent: dict[str, float], errors: list[str], push_s: list[float]) -> None:
        super().__init__(port, "", rate, until, errors, push_s)
        self.device_id, self.tollgate, self.images, self.sent = device_id, tollgate, images, sent
        self._pending: dict[int, str] = {}
        self.start_at = 0.0

    def push(self, index: int) -> tuple[str, bytes, str]:
        now = datetime.now(CST)
        stamp = now.strftime("%Y%m%d%H%M%S")
        record = f"{self.device_id}02{stamp}{uuid.uuid4().int % 10**14:014d}"
        plate = f"粤L{secrets.randbelow(100000):05d}"
        instant = now.replace(microsecond=0).astimezone(UTC).isoformat()
        self._pending[index] = str(uuid.uuid5(RECORD_NAMESPACE, f"{self.device_id}/{record}/{instant}/{plate}"))
        body = {"MotorVehicleListObject": {"MotorVehicleObject": [{
            "MotorVehicleID": record, "InfoKind": 1, "DeviceID": self.device_id, "TollgateID": self.tollgate,
            "LaneNo": 1 + index % 4, "HasPlate": "1", "PlateColor": "5", "PlateNo": plate, "PassTime": stamp,
            "Speed": 55.0, "VehicleClass": "K33", "VehicleColor": "2", "VehicleBrand": "大众",
            "SubImageList": {"SubImageInfoObject": self.images}}]}}
        return "/VIID/MotorVehicles", json.dumps(body, ensure_ascii=False).encode(), "application/VIID+JSON"

    def accepted(self, index: int, reply: Any, started: float) -> None:
        status = reply["ResponseStatusListObject"]["ResponseStatusObject"][0]
        if status["StatusCode"] == 0:
            self.sent[self._pending.pop(index)] = started
        else:
            self.errors.append(f"{self.device_id} status {status['StatusCode']}: {status['StatusString']}")

    def identity(self) -> dict[str, str]:
        return {"User-Identify": self.device_id}

    def run(self) -> None:
        register(self.port, self.device_id)  # Digest first, as a camera does after it starts
        time.sleep(max(0.0, self.start_at - time.monotonic()))  # then push with the others, from the phase start
        super().run()


def keep_alive(port: int, device_ids: list[str], stop: threading.Event, every_s: float = 30.0) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while not stop.wait(every_s):
        for device_id in device_ids:
            try:
                conn.request("POST", "/VIID/System/Keepalive", body=json.dumps({"KeepaliveObject": {
                    "DeviceID": device_id}}), headers={"User-Identify": device_id})
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def register(port: int, device_id: str) -> None:
    number = int(device_id[-7:])
    body = json.dumps({"RegisterObject": {"DeviceID": device_id}})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/VIID/System/Register", body=body, headers={"User-Identify": device_id})
    first = conn.getresponse()
    first.read()
    answer = authorization_header(f"cam{number}", f"pw-{number}-bench", "POST", "/VIID/System/Register",
                                  first.getheader("WWW-Authenticate") or "")
    conn.request("POST", "/VIID/System/Register", body=body, headers={"User-Identify": device_id,
                                                                       "Authorization": answer})
    second = conn.getresponse()
    second.read()
    if second.status != 200:
        raise SystemExit(f"register {device_id}: {second.status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=480.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=1, help="json, viid phases alternated this many times")
    parser.add_argument("--images", choices=["full", "plate", "none"], default="full")
    parser.add_argument("--phases", default="json,viid", help="which phases, in order, each round")
    args = parser.parse_args()

    scratch = ScratchDatabase.create(ADMIN_URL, "checkpoint_bench_viid")
    url = scratch.url
    work = Path(tempfile.mkdtemp(prefix="bench-viid-"))
    from checkpoint.core.redis_process import RedisServer

    redis_server = RedisServer(work)
    procs: list[subprocess.Popen[bytes]] = []
    secret = secrets.token_urlsafe(32)
    try:
        engine = Database.configure(url)
        prepare_database(Settings(database_url=url, data_dir=work), engine)
        assert Database.sessions is not None
        with Database.sessions() as session:
            checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.id)))[:120]
            admin = users.create(session, username="bench-admin", password=secrets.token_urlsafe(12), roles=["admin"])
            token, _ = login_sessions.open_session(session, admin, secret, 3600)  # a real login
            session.commit()
        bus = redis_server.client()
        port = _free_port()
        env = {**os.environ, "CHECKPOINT_DATABASE_URL": url, "CHECKPOINT_REDIS_URL": redis_server.url,
               "CHECKPOINT_DATA_DIR": str(work / "data"), "CHECKPOINT_SECRET_KEY": secret}
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.bench_ingest:serving_app", "--factory",
                                       "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                                       "--no-access-log"], cwd=ROOT, env=env))
        for command in (["checkpoint.passes.cli", "writer"], ["checkpoint", "watchlist", "matcher"],
                        ["checkpoint", "watchlist", "relay"]):
            procs.append(subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env,
                                          stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        _wait_for_http(port)

        text = registry_csv(checkpoints)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        started = time.monotonic()
        conn.request("POST", "/api/v1/registry/import", body=text.encode(),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
        reply = conn.getresponse()
        result = json.loads(reply.read())
        import_s = time.monotonic() - started
        print(json.dumps({"bench": "registry_import", "rows": text.count("\n") - 1, "lanes": len(checkpoints) * 4,
                          "status": reply.status, "added": result.get("added"), "changed": result.get("changed"),
                          "errors": len(result.get("errors", [])), "seconds": round(import_s, 2)}), flush=True)
        keys = reissue_keys(checkpoints)

        api = psutil.Process(procs[0].pid)
        groups = {"api": [api], "writer": [psutil.Process(procs[1].pid)],
                  "matcher": [psutil.Process(procs[2].pid)], "relay": [psutil.Process(procs[3].pid)],
                  "redis": [psutil.Process(redis_server.proc.pid)]}
        images = images_json(args.images)
        viid_images = [{"Type": "01" if image["type"] == "scene" else "02", "FileFormat": "Jpeg",
                        "Data": image["data"]} for image in json.loads(images)]
        for _round in range(args.rounds):
            for phase in args.phases.split(","):
                run_phase(phase, args, port, bus, checkpoints, keys, images, viid_images, groups, scratch.name)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        redis_server.stop()
        Database.dispose()
        scratch.drop()


def reissue_keys(checkpoints: list[Checkpoint]) -> dict[str, str]:
    """The smart cameras the import added have no key shown: issue each one (as the console would)."""
    from checkpoint.capture import service
    from checkpoint.capture.models import Device

    assert Database.sessions is not None
    keys = {}
    with Database.sessions() as session:
        for checkpoint in checkpoints:
            device = session.scalars(select(Device).where(Device.code == f"B-{checkpoint.code}")).one()
            keys[device.code] = service.reissue_key(session, device)
        session.commit()
    return keys


def run_phase(phase: str, args: argparse.Namespace, port: int, bus: Any, checkpoints: list[Checkpoint],
              keys: dict[str, str], images: str, viid_images: list[Any], groups: dict[str, list[psutil.Process]],
              database: str) -> None:
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    errors: list[str] = []
    push_s: list[float] = []
    stop = threading.Event()
    listener = threading.Thread(target=listen, args=(bus, seen, stop), daemon=True)
    listener.start()
    postgres = [p for p in psutil.process_iter(["cmdline"]) if database in " ".join(p.info["cmdline"] or [])]
    before = {name: cpu_s(procs) for name, procs in groups.items()} | {"postgres": cpu_s(postgres)}
    rate = args.rate / len(checkpoints)
    start = time.monotonic() + (5.0 if phase == "viid" else 0.0)  # the cameras register first
    until = start + args.seconds
    pushers: list[PacedPusher]
    if phase == "json":
        pushers = [JsonPusher(port, f"B-{cp.code}", keys[f"B-{cp.code}"], rate, until, images, sent, errors, push_s)
                   for cp in checkpoints]
    else:
        cameras = [ViidPusher(port, f"4413020000119{n:07d}", f"4413020000121{n:07d}", rate, until, viid_images,
                              sent, errors, push_s) for n in range(1, len(checkpoints) + 1)]
        for camera in cameras:
            camera.start_at = start
        pushers = list(cameras)
    alive = threading.Event()
    if phase == "viid":  # the cameras keep their registration alive, as the standard has them do
        threading.Thread(target=keep_alive, args=(port, [p.device_id for p in pushers if isinstance(p, ViidPusher)],
                                                  alive), daemon=True).start()
    for pusher in pushers:
        pusher.start()
    for pusher in pushers:
        pusher.join()
    alive.set()
    elapsed = time.monotonic() - start  # devices that fell behind go on past `until`: the real length
    postgres = [p for p in psutil.process_iter(["cmdline"]) if database in " ".join(p.info["cmdline"] or [])]
    after = {name: cpu_s(procs) for name, procs in groups.items()} | {"postgres": cpu_s(postgres)}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not set(sent) <= set(seen):
        time.sleep(0.2)
    stop.set()
    stored_s = [seen[pid] - at for pid, at in sent.items() if pid in seen]
    cpu = {name: round((after[name] - before[name]) / elapsed, 3) for name in after}
    print(json.dumps({
        "bench": "viid" if phase == "viid" else "json_push", "rate_target": args.rate, "seconds": round(elapsed, 1),
        "seconds_planned": args.seconds,
        "images": args.images, "accepted": len(sent), "errors": len(errors), "first_error": errors[:1],
        "rate_achieved": round(len(sent) / elapsed, 1), "stored": len(stored_s),
        "push_ms_p50": round(1000 * pct(push_s, 0.5), 1), "push_ms_p99": round(1000 * pct(push_s, 0.99), 1),
        "stored_ms_p50": round(1000 * pct(stored_s, 0.5), 1), "stored_ms_p99": round(1000 * pct(stored_s, 0.99), 1),
        "stored_ms_mean": round(1000 * statistics.fmean(stored_s), 1) if stored_s else None,
        "cpu_cores": cpu | {"total": round(sum(cpu.values()), 3)},
        "api_cpu_ms_per_object": round(1000 * cpu["api"] * elapsed / len(sent), 3) if sent else None,
        "machine_cores": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
    }), flush=True)


if __name__ == "__main__":
    main()
