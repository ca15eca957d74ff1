"""Each analysis on small hand-made data with a known answer, through its route, audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.models import AuditEntry
from checkpoint.sites.models import Area, Checkpoint
from checkpoint.trajectory.analyses.targeted import area_checkpoint_ids
from checkpoint.trajectory.roads import road_network
from tests.trajectory.conftest import AddPass, random_plate

Headers = Callable[..., dict[str, str]]
REASON = "case 2026-204: burglary series"


@pytest.fixture
def ask(client: TestClient, auth_headers: Headers, session: Session) -> Callable[..., dict[str, Any]]:
    """Run an analysis as an investigator; check it was audited with its result count."""
    headers = auth_headers("investigator")

    def run(name: str, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"/api/v1/analyses/{name}"
        if body is not None:
            response = client.post(url, json=body | {"reason": REASON}, headers=headers)
        else:
            response = client.get(url, params=(params or {}) | {"reason": REASON}, headers=headers)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.action == f"analysis.{name}" and entry.reason == REASON
        assert entry.detail["results"] == found["total"]
        return found

    return run


def span(start: datetime, days: float) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat()}


def test_clones_by_impossible_travel_and_by_a_different_vehicle(
        ask: Callable[..., dict[str, Any]], add_pass: AddPass, session: Session, quiet_day: datetime) -> None:
    network = road_network(session)
    ids = sorted(network.checkpoints)
    far_a, far_b = max(((a, b) for a in ids[:10] for b in ids[-10:]), key=lambda ab: network.distance_m(*ab))
    assert network.distance_m(far_a, far_b) > 30_000
    clone, honest, repainted = random_plate(), random_plate(), random_plate()
    t = quiet_day + timedelta(hours=3)
    add_pass(clone, t, far_a)
    add_pass(clone, t + timedelta(minutes=5), far_b)  # 30+ km in 5 minutes
    add_pass(honest, t, far_a)
    add_pass(honest, t + timedelta(hours=3), far_b)
    add_pass(repainted, t, far_a, colour="blue")
    add_pass(repainted, t + timedelta(seconds=90), far_a, colour="yellow", kind="large")

    found = ask("clones", span(quiet_day, 1))
    by_plate = {item["plate"]: item for item in found["items"]}
    assert set(by_plate) == {clone, repainted}
    assert by_plate[clone]["kind"] == "impossible-travel"
    assert by_plate[clone]["needed_s"] > by_plate[clone]["duration_s"] == 300
    assert by_plate[clone]["first"]["image_path"] and by_plate[clone]["second"]["image_path"]
    assert by_plate[repainted]["kind"] == "different-vehicle"
    assert by_plate[repainted]["second"]["plate_colour"] == "yellow"


def test_companions_pass_the_same_checkpoints_within_the_window(
        ask: Callable[..., dict[str, Any]], add_pass: AddPass, checkpoints: list[Checkpoint],
        quiet_day: datetime) -> None:
    target, follower, once, late = random_plate(), random_plate(), random_plate(), random_plate()
    route = [checkpoints[i].id for i in (3, 8, 13, 21)]
    for i, checkpoint_id in enumerate(route):
        at = quiet_day + timedelta(hours=2, minutes=15 * i)
        add_pass(target, at, checkpoint_id)
        if i < 3:
            add_pass(follower, at + timedelta(seconds=20), checkpoint_id)
        add_pass(late, at + timedelta(minutes=10), checkpoint_id)
    add_pass(once, quiet_day + timedelta(hours=2, seconds=-30), route[0])

    found = ask("companions", span(quiet_day, 1) | {"plate": target, "window_s": 60, "min_times": 3})
    assert [(item["plate"], item["times"], item["checkpoints"], item["rate"], item["target_passes"])
            for item in found["items"]] == [(follower, 3, 3, 0.75, 4)]
    loose = ask("companions", span(quiet_day, 1) | {"plate": target, "window_s": 60, "min_times": 1, "min_rate": 0})
    assert {item["plate"]: item["rate"] for item in loose["items"]} == {follower: 0.75, once: 0.25}


def test_companions_need_the_companion_rate_beside_the_count(
        ask: Callable[..., dict[str, Any]], add_pass: AddPass, checkpoints: list[Checkpoint],
        quiet_day: datetime, client: TestClient, auth_headers: Headers) -> None:
    """Over eleven days a neighbour meets the target 3 times in its 25 passes (12%), a companion 14 times (56%):
    the same count threshold finds both, the default rate only the companion."""
    target, companion, neighbour = random_plate(), random_plate(), random_plate()
    home, work = checkpoints[5].id, checkpoints[17].id
    for day in range(10):
        for leg, (checkpoint_id, hour) in enumerate(((home, 1), (work, 10))):
            at = quiet_day + timedelta(days=day, hours=hour)
            add_pass(target, at, checkpoint_id)
            if (day * 2 + leg) % 10 < 7:
                add_pass(companion, at + timedelta(seconds=25), checkpoint_id)
            if day in (2, 5, 8) and leg == 0:
                add_pass(neighbour, at - timedelta(seconds=40), checkpoint_id)
    for hour in range(5):  # the target alone
        add_pass(target, quiet_day + timedelta(days=10, hours=hour), home)
    query: dict[str, str | int | float] = {**span(quiet_day, 11), "plate": target, "window_s": 60, "min_times": 3}

    found = ask("companions", query)
    assert [(i["plate"], i["times"], i["rate"], i["target_passes"]) for i in found["items"]] == [
        (companion, 14, 0.56, 25)]
    everyone = ask("companions", query | {"min_rate": 0.12})
    assert [(i["plate"], i["times"], i["rate"]) for i in everyone["items"]] == [(companion, 14, 0.56),
                                                                                (neighbour, 3, 0.12)]
    assert [i["plate"] for i in ask("companions", query | {"min_rate": 0.56})["items"]] == [companion]  # inclusive
    assert ask("companions", query | {"min_rate": 0.6})["total"] == 0
    refused = client.get("/api/v1/analyses/companions", params=query | {"min_rate": 1.5, "reason": REASON},
                         headers=auth_headers("investigator"))
    assert refused.status_code == 422 and "min_rate" in refused.text


def test_first_entry_finds_plates_not_seen_in_the_lookback(
        ask: Callable[..., dict[str, Any]], add_pass: AddPass, checkpoints: list[Checkpoint],
        quiet_day: datetime) -> None:
    window_start = quiet_day + timedelta(days=40)
    newcomer, regular, long_ago = random_plate(), random_plate(), random_plate()
    cp = checkpoints[0].id
    add_pass(newcomer, window_start + timedelta(hours=5), cp)
    add_pass(regular, window_start - timedelta(days=3), cp)
    add_pass(regular, window_start + timedelta(hours=6), cp)
    add_pass(long_ago, quiet_day, cp)  # 40 days before: outside a 30-day lookback
    add_pass(long_ago, window_start + timedelta(hours=7), cp)

    found = ask("first-entry", span(window_start, 1) | {"lookback_days": 30})
    assert [item["plate"] for item in found["items"]] == [newcomer, long_ago]
    longer = ask("first-entry", span(window_start, 1) | {"lookback_days": 45})
    assert [item["plate"] for item in longer["items"]] == [newcomer]


def test_night_active_uses_the_site_time_zone(ask: Callable[..., dict[str, Any]], add_pass: AddPass,
                                              checkpoints: list[Checkpoint], quiet_day: datetime) -> None:
    night_owl, commuter, mixed, rare = random_plate(), random_plate(), random_plate(), random_plate()
    cp = checkpoints[1].id
    for day in range(6):
        base = quiet_day + timedelta(days=day)  # 00:00 UTC is 08:00 in Huizhou
        add_pass(night_owl, base + timedelta(hours=15), cp)  # 23:00 local
        add_pass(night_owl, base + timedelta(hours=18), cp)  # 02:00 local, the same night
        add_pass(commuter, base + timedelta(hours=1), cp)  # 09:00 local
        add_pass(mixed, base + timedelta(hours=15), cp)
        add_pass(mixed, base + timedelta(hours=2), cp)
        if day < 2:
            add_pass(rare, base + timedelta(hours=16), cp)

    found = ask("night-active", span(quiet_day, 7) | {"min_share": 0.8, "min_days": 5})
    assert [(i["plate"], i["night_days"], i["night_passes"]) for i in found["items"]] == [(night_owl, 6, 12)]
    lenient = ask("night-active", span(quiet_day, 7) | {"min_share": 0.5, "min_days": 2})
    assert {i["plate"] for i in lenient["items"]} == {night_owl, mixed, rare}


def test_resting_places_are_where_trips_end_and_start_again(
        ask: Callable[..., dict[str, Any]], add_pass: AddPass, checkpoints: list[Checkpoint],
        quiet_day: datetime) -> None:
    plate = random_plate()
    home, work, road = checkpoints[2].id, checkpoints[30].id, checkpoints[15].id
    for day in range(3):
        base = quiet_day + timedelta(days=day)
        add_pass(plate, base + timedelta(hours=0), home)
        add_pass(plate, base + timedelta(hours=0, minutes=20), road)
        add_pass(plate, base + timedelta(hours=0, minutes=40), work)  # trip ends at work
        add_pass(plate, base + timedelta(hours=9), work)  # and starts again there
        add_pass(plate, base + timedelta(hours=9, minutes=30), home)

    found = ask("resting-places", span(quiet_day, 4) | {"plate": plate, "min_times": 2})
    places = [(item["checkpoint_id"], item["times"]) for item in found["items"]]
    assert places == [(work, 3), (home, 2)]


def test_area_collision_needs_every_pair(ask: Callable[..., dict[str, Any]], add_pass: AddPass,
                                         checkpoints: list[Checkpoint], session: Session,
                                         quiet_day: datetime) -> None:
    district = session.scalars(select(Area).where(Area.kind == "district").order_by(Area.code)).first()
    assert district is not None
    inside = area_checkpoint_ids(session, district.code)
    outside = next(cp for cp in checkpoints if cp.id not in inside)
    both, first_only, wrong_time = random_plate(), random_plate(), random_plate()
    w1, w2 = quiet_day + timedelta(hours=1), quiet_day + timedelta(hours=10)
    for plate in (both, first_only):
        add_pass(plate, w1 + timedelta(minutes=10), outside.id)
    add_pass(both, w2 + timedelta(minutes=5), inside[0])
    add_pass(wrong_time, w1 - timedelta(hours=1), outside.id)
    add_pass(wrong_time, w2 + timedelta(minutes=5), inside[0])

    windows = [{"checkpoints": [outside.code], **span(w1, 1 / 24)}, {"area": district.code, **span(w2, 1 / 24)}]
    found = ask("area-collision", body={"windows": windows})
    assert found["items"] == [{"plate": both, "passes": [1, 1]}]


def test_frequent_passing_at_one_checkpoint(ask: Callable[..., dict[str, Any]], add_pass: AddPass,
                                            checkpoints: list[Checkpoint], quiet_day: datetime) -> None:
    frequent, occasional = random_plate(), random_plate()
    here, there = checkpoints[7], checkpoints[9]
    for i in range(5):
        add_pass(frequent, quiet_day + timedelta(hours=i), here.id)
        add_pass(occasional, quiet_day + timedelta(hours=i), there.id if i % 2 else here.id)

    found = ask("frequent", span(quiet_day, 1) | {"min_passes": 4, "checkpoint": here.code})
    assert [(i["plate"], i["passes"], i["checkpoint_code"]) for i in found["items"]] == [(frequent, 5, here.code)]
    anywhere = ask("frequent", span(quiet_day, 1) | {"min_passes": 3})
    assert {(i["plate"], i["passes"]) for i in anywhere["items"]} == {(frequent, 5), (occasional, 3)}


@pytest.mark.parametrize("path", ["clones", "first-entry", "night-active", "frequent"])
def test_analyses_need_a_reason_and_the_investigator_role(client: TestClient, auth_headers: Headers,
                                                          quiet_day: datetime, path: str) -> None:
    url = f"/api/v1/analyses/{path}"
    params = span(quiet_day, 1)
    assert client.get(url, params=params, headers=auth_headers("investigator")).status_code == 422
    for role in ("officer", "dispatcher"):
        assert client.get(url, params=params | {"reason": REASON}, headers=auth_headers(role)).status_code == 403
