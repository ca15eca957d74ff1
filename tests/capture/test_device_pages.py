"""The device list is paged in id order."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.capture.helpers import register_device


def test_devices_are_listed_in_pages(client: TestClient, session: Session,
                                     auth_headers: Callable[..., dict[str, str]]) -> None:
    codes = [register_device(session)[0] for _ in range(3)]
    admin = auth_headers("admin")
    everything = client.get("/api/v1/devices", params={"limit": 1000}, headers=admin).json()
    mine = [device for device in everything if device["code"] in codes]
    assert [device["code"] for device in mine] == codes
    first = client.get("/api/v1/devices", params={"after_id": mine[0]["id"], "limit": 1}, headers=admin).json()
    assert [device["id"] for device in first] == [mine[1]["id"]]
    assert client.get("/api/v1/devices", params={"limit": 0}, headers=admin).status_code == 422
