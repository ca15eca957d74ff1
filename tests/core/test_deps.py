"""The settings and Redis dependencies: no worker thread needed, and still overridable as before."""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis import Redis

from checkpoint.core.bus import Bus, get_bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.deps import BusDep, SettingsDep, bus_dep, settings_dep


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/probe")
    async def probe(settings: SettingsDep, bus: BusDep) -> dict[str, str]:
        return {"data_dir": str(settings.data_dir), "bus": repr(bus.connection_pool)}

    return app


def test_they_are_coroutines_so_fastapi_runs_them_on_the_event_loop() -> None:
    assert inspect.iscoroutinefunction(settings_dep) and inspect.iscoroutinefunction(bus_dep)


def test_overrides_of_get_settings_and_get_bus_are_honoured(tmp_path: Path) -> None:
    app = _app()
    settings = Settings(data_dir=tmp_path / "elsewhere")
    bus = Redis(host="192.0.2.1", port=1)  # never connected: only handed over
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_bus] = lambda: bus
    with TestClient(app) as client:
        body = client.get("/probe").json()
    assert body == {"data_dir": str(tmp_path / "elsewhere"), "bus": repr(bus.connection_pool)}


def test_without_overrides_they_give_the_configured_settings_and_client() -> None:
    saved = Bus.client
    client_now = Bus.configure("redis://192.0.2.1:1/0")  # never connected: only handed over
    try:
        with TestClient(_app()) as client:
            body = client.get("/probe").json()
        assert body == {"data_dir": str(get_settings().data_dir), "bus": repr(client_now.connection_pool)}
    finally:
        Bus.client = saved
