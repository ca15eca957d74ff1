"""Numbers outside what an analysis can compute are a 422 with the reason, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

REASON = "case 2026-204: range check"


@pytest.mark.parametrize("params", [{"max_speed_kmh": "1e-300"}, {"max_speed_kmh": "0.5"},
                                    {"min_distance_m": "1e308"}, {"max_speed_kmh": "nan"}])
def test_clone_limits_out_of_range_are_a_422(client: TestClient, auth_headers: Callable[..., dict[str, str]],
                                             quiet_day: datetime, params: dict[str, str]) -> None:
    window = {"start": quiet_day.isoformat(), "end": (quiet_day + timedelta(days=1)).isoformat(), "reason": REASON}
    response = client.get("/api/v1/analyses/clones", params=window | params, headers=auth_headers("investigator"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
