"""The sites API on the loaded Huizhou data: 120 checkpoints where the plan puts them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.models import AuditEntry
from checkpoint.sites.models import Checkpoint
from checkpoint.sites.roadgraph import RoadGraph, haversine_m
from tests.sites.test_osm import WAYS, write_osm_xml

Headers = Callable[..., dict[str, str]]
EXPECTED = {"441302": 20, "441303": 20, "441322": 15, "441323": 15, "441324": 15, "dayawan": 15, "zhongkai": 20}


def test_checkpoints_are_120_inside_the_city_and_on_roads(client: TestClient, auth_headers: Headers) -> None:
    headers = auth_headers("officer")
    checkpoints = client.get("/api/v1/checkpoints", headers=headers).json()["features"]
    assert len(checkpoints) == 120
    assert Counter(f["properties"]["district"] for f in checkpoints) == EXPECTED
    city = shape(client.get("/api/v1/areas/441300", headers=headers).json()["geometry"])
    roads = RoadGraph.from_geojson(client.get("/api/v1/roads", headers=headers).json())
    for feature in checkpoints:
        lon, lat = feature["geometry"]["coordinates"]
        point = Point(lon, lat)
        if not city.contains(point):
            nearest = city.exterior.interpolate(city.exterior.project(point)) if city.geom_type == "Polygon" else \
                min((poly.exterior.interpolate(poly.exterior.project(point)) for poly in city.geoms),
                    key=lambda p: p.distance(point))
            assert haversine_m((lon, lat), (nearest.x, nearest.y)) <= 1000, feature["properties"]["code"]
        assert roads.distance_to_edge_m((lon, lat), feature["properties"]["edge_id"]) <= 1.0


def test_areas_have_city_districts_and_centres(client: TestClient, auth_headers: Headers) -> None:
    areas = client.get("/api/v1/areas", headers=auth_headers("planner")).json()["features"]
    kinds = Counter(f["properties"]["kind"] for f in areas)
    assert kinds == {"city": 1, "district": 7, "centre": 7}
    centres = client.get("/api/v1/areas", params={"kind": "centre"}, headers=auth_headers("planner")).json()
    assert len(centres["features"]) == 7
    bad_kind = client.get("/api/v1/areas", params={"kind": "planet"}, headers=auth_headers("planner"))
    assert bad_kind.status_code == 422 and "unknown area kind" in bad_kind.json()["detail"]


def test_unknown_checkpoint_is_404(client: TestClient, auth_headers: Headers) -> None:
    response = client.get("/api/v1/checkpoints/HZ-000000-99", headers=auth_headers("officer"))
    assert response.status_code == 404
    assert response.json() == {"title": "unknown-checkpoint", "status": 404, "reason": "unknown-checkpoint",
                               "detail": "没有这个卡口（checkpoint 'HZ-000000-99' does not exist）"}
    found = client.get("/api/v1/checkpoints/HZ-441302-01", headers=auth_headers("officer"))
    assert found.status_code == 200 and found.json()["properties"]["district_name"] == "惠城"


def test_malformed_area_polygon_is_refused_with_the_reason(client: TestClient, auth_headers: Headers) -> None:
    headers = auth_headers("planner")
    open_ring = {"type": "Polygon", "coordinates": [[[114.4, 23.1], [114.5, 23.1], [114.5, 23.2], [114.4, 23.2]]]}
    response = client.put("/api/v1/areas/441302-centre", json={"geometry": open_ring}, headers=headers)
    assert response.status_code == 422
    assert "does not close" in response.json()["detail"]
    point = client.put("/api/v1/areas/441302-centre", json={"geometry": {"type": "Point", "coordinates": [1, 2]}},
                       headers=headers)
    assert "must be Polygon or MultiPolygon" in point.json()["detail"]
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert "not valid: Self-intersection" in client.put("/api/v1/areas/441302-centre", json={"geometry": bowtie},
                                                        headers=headers).json()["detail"]


def test_planner_redraws_a_centre_area_and_it_is_audited(client: TestClient, auth_headers: Headers,
                                                         session: Session) -> None:
    ring = [[114.40, 23.08], [114.44, 23.08], [114.44, 23.12], [114.40, 23.12], [114.40, 23.08]]
    response = client.put("/api/v1/areas/441302-centre", json={"geometry": {"type": "Polygon", "coordinates": [ring]}},
                          headers=auth_headers("planner"))
    assert response.status_code == 200
    assert response.json()["geometry"]["coordinates"] == [ring]
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "area.update")) is not None


def test_admin_edits_a_checkpoint(client: TestClient, auth_headers: Headers, session: Session) -> None:
    headers = auth_headers("admin")
    url = "/api/v1/checkpoints/HZ-441324-01"
    before = client.get(url, headers=headers).json()
    lon, lat = before["geometry"]["coordinates"]
    change = {"name": "龙门测试卡口", "lat": lat + 0.01, "lon": lon + 0.01, "lanes": 6, "defence_line": "county",
              "retention_class": 2, "active": False, "change_reason": "设备迁移至路口东侧 (moved east)"}
    response = client.patch(url, json=change, headers=headers)
    assert response.status_code == 200, response.text
    edited = response.json()
    assert {k: edited["properties"][k] for k in ("name", "lanes", "defence_line", "retention_class", "active")} == {
        "name": "龙门测试卡口", "lanes": 6, "defence_line": "county", "retention_class": 2, "active": False}
    assert edited["geometry"]["coordinates"] == [lon + 0.01, lat + 0.01]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "checkpoint.update")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.target == "HZ-441324-01" and entry.reason == change["change_reason"]
    assert entry.detail["changed"]["lanes"] == [before["properties"]["lanes"], 6]
    assert entry.detail["changed"]["name"] == [before["properties"]["name"], "龙门测试卡口"]
    assert "edge_id" in entry.detail["changed"] or edited["properties"]["edge_id"] == before["properties"]["edge_id"]


def test_checkpoint_edits_refused_with_a_chinese_reason(client: TestClient, auth_headers: Headers) -> None:
    headers = auth_headers("admin")
    url = "/api/v1/checkpoints/HZ-441324-01"
    reason = {"change_reason": "核对现场 (site check)"}
    refusals = [({"lanes": 6}, "修改原因"), ({"retention_class": 3} | reason, "保存类别"),
                ({"lanes": 40} | reason, "车道数"), ({"name": "  "} | reason, "卡口名称"),
                ({"defence_line": "ring"} | reason, "防线类别"), ({"lat": 23.1} | reason, "同时给出"),
                ({"lat": 39.9, "lon": 116.4} | reason, "不在"), (reason, "没有要修改"),
                ({"directions": ["up"]} | reason, "方向")]
    for body, words in refusals:
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == 422, body
        assert words in response.json()["detail"], (body, response.json())
    assert client.patch(url, json={"lanes": 3} | reason, headers=auth_headers("planner")).status_code == 403
    assert client.patch("/api/v1/checkpoints/HZ-NOPE", json={"lanes": 3} | reason, headers=headers).status_code == 404


def test_planner_imports_an_osm_extract_and_checkpoints_resnap(client: TestClient, auth_headers: Headers,
                                                               session: Session, tmp_path: Path) -> None:
    osm_file = write_osm_xml(tmp_path / "small.osm", WAYS)
    with osm_file.open("rb") as handle:
        response = client.post("/api/v1/roads/import", files={"file": ("small.osm", handle)},
                               headers=auth_headers("planner"))
    assert response.status_code == 200, response.text
    edges = response.json()["edges"]
    assert edges >= 4
    roads = client.get("/api/v1/roads", headers=auth_headers("planner")).json()["features"]
    assert len(roads) == edges and {r["properties"]["name"] for r in roads} >= {"演达大道"}
    edge_ids = {r["properties"]["id"] for r in roads}
    assert {cp.edge_id for cp in session.scalars(select(Checkpoint))} <= edge_ids


def test_bad_road_files_are_refused_with_the_reason(client: TestClient, auth_headers: Headers,
                                                    tmp_path: Path) -> None:
    headers = auth_headers("planner")
    no_roads = write_osm_xml(tmp_path / "buildings.osm", [(14, [3, 6, 7, 3], {"building": "yes"})])
    with no_roads.open("rb") as handle:
        response = client.post("/api/v1/roads/import", files={"file": ("buildings.osm", handle)}, headers=headers)
    assert response.status_code == 422 and "no roads" in response.json()["detail"]
    garbage = client.post("/api/v1/roads/import", files={"file": ("x.osm.pbf", b"not a pbf at all")}, headers=headers)
    assert garbage.status_code == 422
    assert "（'x.osm.pbf': not a readable OSM file" in garbage.json()["detail"]  # after the Chinese sentence
    wrong_type = client.post("/api/v1/roads/import", files={"file": ("roads.shp", b"...")}, headers=headers)
    assert wrong_type.status_code == 422 and "expected one of" in wrong_type.json()["detail"]
    bad_json = client.post("/api/v1/roads/import", files={"file": ("roads.geojson", b"{not json")}, headers=headers)
    assert bad_json.status_code == 422
    assert "（'roads.geojson': not valid JSON" in bad_json.json()["detail"]
