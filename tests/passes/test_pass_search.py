"""过车查询: stored passes by time, place, plate pattern and attributes; reasons required and audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.models import AuditEntry
from checkpoint.passes import partitions, plate_wildcard, store
from checkpoint.passes.record import CapturedPass
from checkpoint.sites.models import Area, Checkpoint
from checkpoint.sites.service import checkpoints_in_area

DAY = datetime(2025, 3, 3, tzinfo=UTC)  # a day no other test writes passes on
URL = "/api/v1/passes/search"
REASON = "案件 A-17 调查"


@pytest.fixture
def stored(session: Session) -> list[Checkpoint]:
    """Nine passes at two checkpoints of different districts, over two hours of DAY."""
    first = session.scalars(select(Checkpoint).order_by(Checkpoint.code)).first()
    assert first is not None
    other = session.scalars(select(Checkpoint).where(Checkpoint.district != first.district)
                            .order_by(Checkpoint.code)).first()
    assert other is not None
    rows = [  # (minutes after DAY, checkpoint, plate, plate colour, direction, vehicle colour, vehicle type)
        (10, first, "粤LA2345", "blue", "in", "white", "car"),
        (20, first, "粤LA2845", "blue", "out", "red", "suv"),
        (30, first, "粤LB2345", "yellow", "in", "white", "truck"),
        (40, other, "粤LA2345", "blue", "in", "white", "car"),
        (50, other, "粤LA234S", "blue", "in", "black", "car"),  # a misread of 粤LA2345 (5 read as S)
        (60, other, "湘A99999", "blue", "out", None, None),
        (70, first, "粤LA2345", "blue", "out", "white", "car"),
        (130, first, "粤LC1111", "green", "in", "silver", "mpv"),
        (24 * 60 + 5, first, "粤LA2345", "blue", "in", "white", "car"),  # the next day
    ]
    partitions.ensure_day_partitions(session.connection(), DAY.date(), (DAY + timedelta(days=1)).date())
    passes = [CapturedPass(checkpoint_id=cp.id, plate=plate, captured_at=DAY + timedelta(minutes=minutes),
                           plate_colour=colour, direction=direction, vehicle_colour=v_colour, vehicle_type=v_type,
                           vehicle_brand="比亚迪" if v_type == "mpv" else None,
                           plate_image_path=f"images/{plate}.jpg", source="test")
              for minutes, cp, plate, colour, direction, v_colour, v_type in rows]
    positions = {cp.id: (cp.lat, cp.lon) for cp in (first, other)}
    store.insert_passes(session.connection().connection.dbapi_connection, passes, positions, datetime.now(UTC))
    return [first, other]


def window(hours: float = 12, **params: Any) -> dict[str, Any]:
    return {"start": DAY.isoformat(), "end": (DAY + timedelta(hours=hours)).isoformat(), "reason": REASON,
            **params}


Headers = Callable[..., dict[str, str]]


def test_one_checkpoint_day_newest_first_with_codes_and_count(client: TestClient, stored: list[Checkpoint],
                                                               auth_headers: Headers) -> None:
    first, _other = stored
    found = client.get(URL, params=window(checkpoint=first.code), headers=auth_headers("investigator"))
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["total"] == 5 and body["total_exact"] and body["plates"] is None
    assert [hit["plate"] for hit in body["items"]] == ["粤LC1111", "粤LA2345", "粤LB2345", "粤LA2845", "粤LA2345"]
    assert {hit["checkpoint_code"] for hit in body["items"]} == {first.code}
    assert body["items"][0]["checkpoint_name"] == first.name and body["items"][0]["vehicle_brand"] == "比亚迪"
    paged = client.get(URL, params=window(checkpoint=first.code, page=2, page_size=2, sort="time_asc"),
                       headers=auth_headers("dispatcher")).json()
    assert [hit["plate"] for hit in paged["items"]] == ["粤LB2345", "粤LA2345"] and paged["total"] == 5


def test_plate_modes_follow_the_watchlist_rules(client: TestClient, stored: list[Checkpoint],
                                                auth_headers: Headers) -> None:
    headers = auth_headers("investigator")
    exact = client.get(URL, params=window(plate="粤la2345"), headers=headers).json()
    assert exact["total"] == 3 and exact["plates"] == ["粤LA2345"]
    wildcard = client.get(URL, params=window(plate="粤LA2?45", plate_mode="wildcard"), headers=headers).json()
    assert wildcard["plates"] == ["粤LA2345", "粤LA2845"] and wildcard["total"] == 4
    fuzzy = client.get(URL, params=window(plate="粤LA2345", plate_mode="fuzzy", strictness="strict"),
                       headers=headers).json()
    assert set(fuzzy["plates"]) == {"粤LA2345", "粤LA234S"} and fuzzy["total"] == 4
    broad = client.get(URL, params=window(plate="粤L*", plate_mode="wildcard"), headers=headers)
    assert broad.status_code == 422 and "too broad" in broad.json()["detail"]


def test_places_and_attributes_narrow_the_search(client: TestClient, session: Session, stored: list[Checkpoint],
                                                 auth_headers: Headers) -> None:
    first, other = stored
    headers = auth_headers("investigator")

    def plates(**params: Any) -> list[str]:
        response = client.get(URL, params=window(sort="time_asc", **params), headers=headers)
        assert response.status_code == 200, response.text
        return [hit["plate"] for hit in response.json()["items"]]

    assert plates(district=other.district) == ["粤LA2345", "粤LA234S", "湘A99999"]
    assert plates(direction="out") == ["粤LA2845", "湘A99999", "粤LA2345"]
    assert plates(plate_colour="yellow") == ["粤LB2345"]
    assert plates(vehicle_colour="white", vehicle_type="car") == ["粤LA2345", "粤LA2345", "粤LA2345"]
    assert plates(vehicle_brand="比亚") == ["粤LC1111"]
    assert plates(checkpoint=[first.code, other.code], plate="湘A99999") == ["湘A99999"]
    area = next(a for a in session.scalars(select(Area).where(Area.kind == "district"))
                if first.id in {cp.id for cp in checkpoints_in_area(session, a.code)})
    assert "粤LC1111" in plates(area=area.code) and "湘A99999" not in plates(area=area.code)
    assert plates(hours=48, plate="粤LA2345", checkpoint=first.code)[-1] == "粤LA2345"


@pytest.mark.parametrize("params, words", [
    ({"reason": ""}, "事由"),
    ({"vehicle_colour": "mauve"}, "车身颜色"),
    ({"checkpoint": "NO-SUCH"}, "未知卡口"),
    ({"area": "NO-SUCH"}, "未知区域"),
    ({"hours": 24 * 40}, "31 天"),
    ({"hours": -1}, "结束时间"),
])
def test_bad_searches_are_refused_in_chinese(client: TestClient, auth_headers: Headers, params: dict[str, Any],
                                             words: str) -> None:
    hours = float(str(params.pop("hours", 12)))
    response = client.get(URL, params=window(hours, **params), headers=auth_headers("investigator"))
    assert response.status_code == 422 and words in response.json()["detail"], response.text


def test_only_the_searching_roles_may_search(client: TestClient, auth_headers: Headers) -> None:
    assert client.get(URL, params=window(), headers=auth_headers("planner")).status_code == 403
    assert client.get(URL, params=window()).status_code == 401


def test_search_and_export_are_audited_with_reason_and_query(client: TestClient, session: Session,
                                                            stored: list[Checkpoint], auth_headers: Headers) -> None:
    headers = auth_headers("investigator")
    client.get(URL, params=window(plate="粤LA2?45", plate_mode="wildcard"), headers=headers)
    export = client.get(f"{URL}/export", params=window(hours=48, plate="粤LA2345"), headers=headers)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    assert export.text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert table[0][:2] == ["时间 time", "号牌 plate"] and len(table) == 1 + 4
    assert table[1][0] == "2025-03-04 08:05:00" and table[1][1] == "粤LA2345"  # local time, newest first
    assert table[1][4] == stored[0].code and table[1][5] == stored[0].name
    rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action.in_(["pass.search", "pass.export.csv"]))
                                .order_by(AuditEntry.id.desc()).limit(2)))
    exported, searched = rows
    assert searched.action == "pass.search" and searched.target == "粤LA2?45" and searched.reason == REASON
    assert searched.detail["query"]["plates"] == ["粤LA2345", "粤LA2845"] and searched.detail["results"] == 4
    assert exported.action == "pass.export.csv" and exported.target == "粤LA2345" and exported.reason == REASON
    refused = client.get(f"{URL}/export", params=window(reason="  "), headers=headers)
    assert refused.status_code == 422 and "事由" in refused.json()["detail"]


@pytest.mark.parametrize("pattern", ["粤LA2?45", "粤LA2*", "?LA2345", "粤L??345", "粤L?2*", "*2345", "粤L*45",
                                     "粤LA2?4?", "粤L*2345", "粤L*234S"])
def test_wildcards_read_from_the_index_find_what_a_scan_finds(session: Session, stored: list[Checkpoint],
                                                               pattern: str) -> None:
    start, end = DAY, DAY + timedelta(days=2)
    reference = set(session.scalars(plate_wildcard.SCAN_SQL, {"start": start, "end": end, "ids": None, "limit": 100,
                                                              "like": plate_wildcard.like_pattern(pattern)}))
    assert plate_wildcard.code_point_order(session)  # the test database is C.UTF-8: the index path is taken
    found = plate_wildcard.matching_plates(session, pattern, start, end, None, 100)
    assert sorted(found) == sorted(reference) and len(found) == len(set(found))


def test_which_patterns_narrow_the_plate_index() -> None:
    assert plate_wildcard.prefixes("粤LA23*") == (["粤LA23"], False)
    plates, whole = plate_wildcard.prefixes("粤L?2345") or ([], False)
    assert whole and len(plates) == len(plate_wildcard.ALPHABET) and "粤LK2345" in plates
    assert plate_wildcard.prefixes("粤L*2345") is None  # known start 粤L: most of the city, scanned
    assert plate_wildcard.prefixes("粤L??3*") is None  # two unknowns before the run: too many ranges
    assert len((plate_wildcard.prefixes("粤L?23*") or ([], False))[0]) == len(plate_wildcard.ALPHABET)
    spelled, whole = plate_wildcard.narrowing("粤L*2345") or ([], False)  # 7 and 8 characters, spelled out
    assert whole and len(spelled) == len(plate_wildcard.ALPHABET) * (1 + len(plate_wildcard.ALPHABET))
    assert "粤LK2345" in spelled and "粤LD92345" in spelled
    assert plate_wildcard.narrowing("*2345") is None and plate_wildcard.narrowing("粤L*23*") is None
