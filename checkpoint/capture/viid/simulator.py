"""A GA/T 1400 checkpoint camera, simulated: registers with Digest, keeps alive, pushes motor vehicles over HTTP.

What `checkpoint demo` runs as a process of its own, so the devices page shows a GA/T 1400 camera
that is really online; also a smoke test for a site's own platform address. It speaks only HTTP
to the server, as a field camera does (the Digest answer from core/digest.py's client side).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from checkpoint.core.digest import authorization_header

log = logging.getLogger(__name__)
KEEPALIVE_S = 30.0
PROVINCES = "粤粤粤粤湘赣桂"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Camera:
    base_url: str  # e.g. http://127.0.0.1:8000
    device_id: str
    tollgate_id: str
    username: str
    password: str
    lanes: int = 2
    zone: str = "Asia/Shanghai"


def _jpeg(width: int, height: int, rng: random.Random) -> str:
    """A small blurred-noise JPEG in base64: an image the server checks and stores, cheap to make."""
    pixels = np.random.default_rng(rng.randrange(1 << 30)).integers(0, 255, (height, width, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.GaussianBlur(pixels, (9, 9), 0), [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def motor_vehicle(camera: Camera, rng: random.Random, sequence: int, now: datetime) -> dict[str, Any]:
    """One MotorVehicleObject as a checkpoint camera sends it (GA/T 1400.3 field names)."""
    plate = rng.choice(PROVINCES) + rng.choice(LETTERS) + "".join(rng.choice("0123456789") for _ in range(5))
    stamp = now.strftime("%Y%m%d%H%M%S")
    images = [{"ImageID": f"{camera.device_id}02{stamp}{sequence:05d}1", "EventSort": 1, "DeviceID": camera.device_id,
               "Type": "01", "FileFormat": "Jpeg", "ShotTime": stamp, "Width": 320, "Height": 180,
               "Data": _jpeg(320, 180, rng)},
              {"ImageID": f"{camera.device_id}02{stamp}{sequence:05d}2", "EventSort": 1, "DeviceID": camera.device_id,
               "Type": "02", "FileFormat": "Jpeg", "ShotTime": stamp, "Width": 96, "Height": 32,
               "Data": _jpeg(96, 32, rng)}]
    return {"MotorVehicleID": f"{camera.device_id}02{stamp}{sequence:05d}", "InfoKind": 1,
            "SourceID": f"{camera.device_id}02{stamp}{sequence:05d}", "DeviceID": camera.device_id,
            "TollgateID": camera.tollgate_id, "LaneNo": rng.randint(1, camera.lanes), "HasPlate": "1",
            "PlateClass": "02", "PlateColor": rng.choice(["5", "5", "5", "9", "6"]), "PlateNo": plate,
            "PassTime": stamp, "Speed": round(rng.uniform(30, 80), 1), "Direction": "3",
            "VehicleClass": rng.choice(["K33", "K33", "K31", "K32", "H31"]),
            "VehicleColor": rng.choice(["1", "2", "2", "3", "5", "4"]),
            "VehicleBrand": rng.choice(["大众", "丰田", "比亚迪"]),
            "SubImageList": {"SubImageInfoObject": images}}


class Simulator:
    """The camera's session with the platform: register, keepalive, push; registers again after a 401."""

    def __init__(self, camera: Camera, seed: int = 1400) -> None:
        self.camera = camera
        self.rng = random.Random(seed)
        self.nc = 0
        self.registered = False
        self.sent = 0

    def _request(self, method: str, path: str, body: object | None = None,
                 authorization: str | None = None) -> tuple[int, dict[str, str], Any]:
        headers = {"User-Identify": self.camera.device_id, "Content-Type": "application/VIID+JSON;charset=UTF-8"}
        if authorization:
            headers["Authorization"] = authorization
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(self.camera.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # the platform's URL
                return int(response.status), {k.lower(): v for k, v in response.headers.items()}, \
                    json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:  # header names lower-cased: servers send either
            return int(error.code), {k.lower(): v for k, v in error.headers.items()}, None

    def register(self) -> bool:
        path, body = "/VIID/System/Register", {"RegisterObject": {"DeviceID": self.camera.device_id}}
        status, headers, _ = self._request("POST", path, body)
        if status == 401 and "www-authenticate" in headers:
            self.nc += 1
            answer = authorization_header(self.camera.username, self.camera.password, "POST", path,
                                          headers["www-authenticate"], nc=self.nc)
            status, _, _ = self._request("POST", path, body, answer)
        self.registered = status == 200
        log.info("viid.simulator_register", extra={"device": self.camera.device_id, "status": status})
        return self.registered

    def keepalive(self) -> None:
        status, _, _ = self._request("POST", "/VIID/System/Keepalive",
                                     {"KeepaliveObject": {"DeviceID": self.camera.device_id}})
        self.registered = status == 200

    def push(self, count: int = 1) -> list[int]:
        """Push `count` vehicles in one list; their StatusCodes (empty when refused as a whole)."""
        now = datetime.now(ZoneInfo(self.camera.zone))
        objects = []
        for _ in range(count):
            self.sent += 1
            objects.append(motor_vehicle(self.camera, self.rng, self.sent, now))
        status, _, answer = self._request("POST", "/VIID/MotorVehicles",
                                          {"MotorVehicleListObject": {"MotorVehicleObject": objects}})
        if status == 401:
            self.registered = False
            return []
        listed = (answer or {}).get("ResponseStatusListObject", {}).get("ResponseStatusObject", [])
        return [int(item.get("StatusCode", 1)) for item in listed]

    def run(self, stop: threading.Event, every_s: float = 4.0) -> None:
        last_keepalive = 0.0
        while not stop.is_set():
            try:
                if not self.registered and not self.register():
                    stop.wait(10.0)
                    continue
                if time.monotonic() - last_keepalive >= KEEPALIVE_S:
                    self.keepalive()
                    last_keepalive = time.monotonic()
                self.push()
            except OSError as exc:  # the platform is restarting: try again shortly
                log.warning("viid.simulator_unreachable", extra={"error": type(exc).__name__})
                self.registered = False
            stop.wait(self.rng.uniform(0.5, 1.5) * every_s)


def push_json(base_url: str, code: str, key: str, rng: random.Random) -> int:
    """One pass from the smart camera, as our own JSON push (/api/v1/ingest/passes)."""
    plate = rng.choice(PROVINCES) + rng.choice(LETTERS) + "".join(rng.choice("0123456789") for _ in range(5))
    body = {"device_id": code, "plate_no": plate, "plate_colour": "blue", "plate_confidence": 0.95, "lane_no": 1,
            "direction": "in", "pass_time": datetime.now(ZoneInfo("UTC")).isoformat(), "speed": 50.0,
            "images": [{"type": "plate", "data": _jpeg(96, 32, rng)}]}
    return _post(f"{base_url}/api/v1/ingest/passes", json.dumps(body).encode(), "application/json", key)


def push_snapshot(base_url: str, key: str, rng: random.Random) -> int:
    """One JPEG from the snapshot camera (/api/v1/ingest/snapshots); our LPR reads it."""
    data = base64.b64decode(_jpeg(640, 360, rng))
    return _post(f"{base_url}/api/v1/ingest/snapshots?lane=1&direction=in", data, "image/jpeg", key)


def _post(url: str, data: bytes, content_type: str, key: str) -> int:
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": content_type, "X-Device-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # the platform's URL
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def run_plan(plan: dict[str, Any], stop: threading.Event) -> None:
    """The demo's cameras: the GA/T 1400 one in a thread, the smart and snapshot ones on a slower beat."""
    base = plan["base_url"]
    viid = plan["gat1400"]
    simulator = Simulator(Camera(base, viid["device_id"], viid["tollgate_id"], viid["username"], viid["password"],
                                 lanes=max(1, min(2, int(viid.get("lanes", 2))))))
    threading.Thread(target=simulator.run, args=(stop,), name="gat1400", daemon=True).start()
    rng = random.Random(7)
    beat = 0
    while not stop.wait(15.0):
        try:
            push_json(base, plan["smart"]["code"], plan["smart"]["key"], rng)
            if beat % 4 == 0:
                push_snapshot(base, plan["snapshot"]["key"], rng)
        except OSError as exc:
            log.warning("viid.simulator_unreachable", extra={"error": type(exc).__name__})
        beat += 1
