"""A GA/T 1400.4 client written from the standard and RFC 7616, not from our server code.

It does what a field camera does: POST /VIID/System/Register without credentials, read the 401's
`WWW-Authenticate: Digest` challenge, answer it (MD5, qop=auth), then name itself in `User-Identify`
on every later request, with bodies sent as application/VIID+JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response  # what TestClient returns

VIID_JSON = "application/VIID+JSON;charset=UTF-8"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def challenge_params(header: str) -> dict[str, str]:
    assert header.startswith("Digest "), header
    return {name.lower(): quoted or token
            for name, quoted, token in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header[7:])}


class ViidCamera:
    """One GA/T 1400 device: its DeviceID and Digest credentials."""

    def __init__(self, http: TestClient, device_id: str, username: str, password: str) -> None:
        self.http, self.device_id, self.username, self.password = http, device_id, username, password
        self.nc = 0

    def _authorization(self, method: str, uri: str, challenge: str) -> str:
        params = challenge_params(challenge)
        self.nc += 1
        cnonce, nc = secrets.token_hex(8), f"{self.nc:08x}"
        ha1 = _md5(f"{self.username}:{params['realm']}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        response = _md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        return (f'Digest username="{self.username}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
                f'uri="{uri}", algorithm=MD5, response="{response}", qop=auth, nc={nc}, cnonce="{cnonce}", '
                f'opaque="{params.get("opaque", "")}"')

    def post(self, uri: str, body: Any, authorization: str | None = None) -> Response:
        headers = {"Content-Type": VIID_JSON, "User-Identify": self.device_id}
        if authorization:
            headers["Authorization"] = authorization
        return self.http.post(uri, content=json.dumps(body, ensure_ascii=False).encode(), headers=headers)

    def get(self, uri: str) -> Response:
        return self.http.get(uri, headers={"User-Identify": self.device_id})

    def register(self) -> Response:
        """Register as the standard's flow has it: unauthenticated first, then the answer to the challenge."""
        uri, body = "/VIID/System/Register", {"RegisterObject": {"DeviceID": self.device_id}}
        first = self.post(uri, body)
        assert first.status_code == 401, first.text
        return self.post(uri, body, self._authorization("POST", uri, first.headers["WWW-Authenticate"]))

    def keepalive(self) -> Response:
        return self.post("/VIID/System/Keepalive", {"KeepaliveObject": {"DeviceID": self.device_id}})

    def motor_vehicles(self, objects: list[Any]) -> Response:
        return self.post("/VIID/MotorVehicles", {"MotorVehicleListObject": {"MotorVehicleObject": objects}})
