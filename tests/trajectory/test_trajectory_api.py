"""The trajectory route: trips along the roads, the reason required and audited, roles enforced."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.models import AuditEntry
from checkpoint.sites.models import Checkpoint
from checkpoint.sites.roadgraph import haversine_m
from tests.trajectory.conftest import AddPass, random_plate

Headers = Callable[..., dict[str, str]]
REASON = "case 2026-117: stolen car"


def window(day: datetime) -> dict[str, str]:
    return {"start": day.isoformat(), "end": (day + timedelta(days=2)).isoformat()}


def test_a_trajectory_is_split_into_trips_drawn_along_the_roads(
        client: TestClient, auth_headers: Headers, add_pass: AddPass, checkpoints: list[Checkpoint],
        quiet_day: datetime, session: Session) -> None:
    plate = random_plate()
    a, b, c = checkpoints[0], checkpoints[5], checkpoints[40]
    morning = quiet_day + timedelta(hours=1)
    add_pass(plate, morning, a.id)
    add_pass(plate, morning + timedelta(minutes=20), b.id)
    add_pass(plate, morning + timedelta(hours=9), b.id)  # a long stop: a second trip
    add_pass(plate, morning + timedelta(hours=9, minutes=25), c.id)
    add_pass(random_plate(), morning, a.id)  # someone else

    response = client.get(f"/api/v1/trajectories/{plate}", params=window(quiet_day) | {"reason": REASON},
                          headers=auth_headers("investigator"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pass_count"] == 4
    assert [len(trip["passes"]) for trip in body["trips"]] == [2, 2]
    leg = body["trips"][0]["legs"][0]
    assert leg["on_road"] and leg["duration_s"] == 20 * 60
    assert leg["distance_m"] >= haversine_m((a.lon, a.lat), (b.lon, b.lat)) * 0.99
    assert leg["speed_kmh"] == pytest.approx(leg["distance_m"] / 1200 * 3.6, abs=0.1)
    assert len(leg["coordinates"]) > 2  # along the road, not a straight line

    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "trajectory.search")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.reason == REASON and entry.target == plate
    assert entry.detail["results"] == 4 and entry.detail["query"]["plate"] == plate


def test_the_gap_between_trips_is_a_parameter(client: TestClient, auth_headers: Headers, add_pass: AddPass,
                                              checkpoints: list[Checkpoint], quiet_day: datetime) -> None:
    plate = random_plate()
    for minutes in (0, 20, 40):
        add_pass(plate, quiet_day + timedelta(minutes=minutes), checkpoints[minutes // 20].id)
    params = window(quiet_day) | {"reason": REASON, "gap_min": "10"}
    body = client.get(f"/api/v1/trajectories/{plate}", params=params, headers=auth_headers("investigator")).json()
    assert [len(trip["passes"]) for trip in body["trips"]] == [1, 1, 1]


def test_a_search_without_a_reason_is_refused(client: TestClient, auth_headers: Headers,
                                              quiet_day: datetime) -> None:
    headers = auth_headers("investigator")
    missing = client.get("/api/v1/trajectories/粤L12345", params=window(quiet_day), headers=headers)
    assert missing.status_code == 422 and "reason" in missing.json()["detail"]
    blank = client.get("/api/v1/trajectories/粤L12345", params=window(quiet_day) | {"reason": "    "},
                       headers=headers)
    assert blank.status_code == 422


@pytest.mark.parametrize("roles", [("officer",), ("dispatcher",), ("officer", "dispatcher", "planner")])
def test_only_investigators_may_search(client: TestClient, auth_headers: Headers, quiet_day: datetime,
                                       roles: tuple[str, ...]) -> None:
    params = window(quiet_day) | {"reason": REASON}
    response = client.get("/api/v1/trajectories/粤L12345", params=params, headers=auth_headers(*roles))
    assert response.status_code == 403
    assert client.get("/api/v1/trajectories/粤L12345", params=params).status_code == 401


def test_bad_time_ranges_are_refused_with_a_reason(client: TestClient, auth_headers: Headers,
                                                   quiet_day: datetime) -> None:
    headers = auth_headers("investigator")
    reversed_range = {"start": (quiet_day + timedelta(days=1)).isoformat(), "end": quiet_day.isoformat()}
    response = client.get("/api/v1/trajectories/粤L12345", params=reversed_range | {"reason": REASON},
                          headers=headers)
    assert response.status_code == 422 and "after its start" in response.json()["detail"]


def test_exports_as_geojson_and_csv(client: TestClient, auth_headers: Headers, add_pass: AddPass,
                                    checkpoints: list[Checkpoint], quiet_day: datetime,
                                    session: Session) -> None:
    plate = random_plate()
    for i in range(3):
        add_pass(plate, quiet_day + timedelta(minutes=10 * i), checkpoints[i * 3].id)
    headers = auth_headers("investigator")
    params = window(quiet_day) | {"reason": REASON}
    geo = client.get(f"/api/v1/trajectories/{plate}/export", params=params | {"format": "geojson"}, headers=headers)
    assert geo.status_code == 200 and geo.headers["content-type"].startswith("application/geo+json")
    kinds = [f["properties"]["kind"] for f in geo.json()["features"]]
    assert kinds.count("leg") == 2 and kinds.count("pass") == 3
    table = client.get(f"/api/v1/trajectories/{plate}/export", params=params | {"format": "csv"}, headers=headers)
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [row["plate"] for row in rows] == [plate] * 3
    assert rows[0]["speed_from_previous_kmh"] == "" and float(rows[1]["distance_from_previous_m"]) > 0
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.target == plate)))
    assert {"trajectory.export.geojson", "trajectory.export.csv"} <= actions


def test_an_auditor_reviews_the_searches(client: TestClient, auth_headers: Headers, quiet_day: datetime) -> None:
    plate = random_plate()
    client.get(f"/api/v1/trajectories/{plate}", params=window(quiet_day) | {"reason": REASON},
               headers=auth_headers("investigator"))
    rows = client.get("/api/v1/audit", params={"action": "trajectory."}, headers=auth_headers("auditor")).json()
    mine = [row for row in rows if row["target"] == plate]
    assert mine and mine[0]["reason"] == REASON and mine[0]["detail"]["results"] == 0


def test_an_exact_search_refuses_text_that_is_no_plate_with_the_reason(client: TestClient, auth_headers: Headers,
                                                                      quiet_day: datetime) -> None:
    headers = auth_headers("investigator")
    params = window(quiet_day) | {"reason": REASON}
    noise = client.get("/api/v1/trajectories/hello!!", params=params, headers=headers)
    assert noise.status_code == 422 and "含有车牌中不会出现的字符：!" in noise.json()["detail"]
    short = client.get("/api/v1/trajectories/粤LT246", params=params, headers=headers)
    assert short.status_code == 422 and "缺字或多字请用模糊查询" in short.json()["detail"]
    fuzzy = client.get("/api/v1/trajectories/粤LT246", params=params | {"mode": "fuzzy", "strictness": "normal"},
                       headers=headers)
    assert fuzzy.status_code == 200 and fuzzy.json()["plates"][0] == "粤LT246"  # as the fuzzy help text promises
    spaced = client.get("/api/v1/trajectories/粤l 12345", params=params, headers=headers)
    assert spaced.status_code == 200 and spaced.json()["plates"] == ["粤L12345"]
