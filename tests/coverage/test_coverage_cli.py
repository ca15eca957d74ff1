"""`checkpoint coverage check` on the shipped geodata folder."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from checkpoint.coverage.cli import app

GEODATA = Path(__file__).resolve().parents[2] / "geodata"


def test_check_json_lists_every_area() -> None:
    result = CliRunner().invoke(app, ["check", "--json", "--geodata", str(GEODATA)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert len(body["areas"]) == 8
    for area in body["areas"]:
        assert {"name", "min_captures_in", "min_captures_out", "leak_routes"} <= set(area)
        assert isinstance(area["leak_routes"], int)


def test_check_prints_a_table_and_takes_checkpoints_offline() -> None:
    result = CliRunner().invoke(app, ["check", "--geodata", str(GEODATA), "--offline", "HZ-441302-01"])
    assert result.exit_code == 0, result.output
    assert "惠城中心区" in result.stdout and "offline: HZ-441302-01" in result.stdout


def test_osm_file_without_roads_is_an_error(tmp_path: Path) -> None:
    osm = tmp_path / "empty.osm"
    osm.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="23.1" lon="114.4"/></osm>',
                   encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--geodata", str(GEODATA), "--roads", str(osm)])
    assert result.exit_code == 2
    assert "no roads" in result.output


def test_check_states_its_reading_and_the_shipped_placement_holds_where_the_quota_reaches() -> None:
    result = CliRunner().invoke(app, ["check", "--json", "--geodata", str(GEODATA)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["reading"]["counting"] == "jurisdiction" and body["reading"]["origins"] == "two_lines"
    holds = {area["code"]: area["holds"] for area in body["areas"]}
    # the quotas of 惠城 (20, needs 25) and 仲恺 (20, needs 22) are short of full compliance; every other area holds
    assert holds == {"441300-centre": True, "441302-centre": False, "441303-centre": True, "441322-centre": True,
                     "441323-centre": True, "441324-centre": True, "dayawan-centre": True, "zhongkai-centre": False}
    for leak in body["leaks"]["features"]:
        assert leak["properties"]["route"].startswith(("自", "驶离")) and "edge" not in leak["properties"]["route"]
    strict = json.loads(CliRunner().invoke(app, ["check", "--json", "--geodata", str(GEODATA),
                                                 "--origins", "strict", "--counting", "ring"]).stdout)
    assert strict["reading"]["origins"] == "strict" and not strict["holds"]
    bad = CliRunner().invoke(app, ["check", "--geodata", str(GEODATA), "--counting", "some"])
    assert bad.exit_code == 2


def test_place_reports_the_optimum_its_gap_and_full_compliance() -> None:
    result = CliRunner().invoke(app, ["place", "--json", "--geodata", str(GEODATA), "--time-limit", "120"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    best, full = body["optimum"], body["full_compliance"]
    assert best["status"] == "Optimal" and best["gap"] == 0 and (best["held"], best["routes"]) == (396, 406)
    assert best["unreachable"] == 0 and full["status"] == "Optimal" and full["checkpoints"] == 98
    assert {c["code"]: c["needed"] > c["quota"] for c in body["counties"]}["441302"]
    assert all(c["used"] <= c["quota"] for c in body["counties"])


def test_every_reading_is_one_result_each_stating_its_reading() -> None:
    result = CliRunner().invoke(app, ["check", "--geodata", str(GEODATA), "--every-reading"])
    assert result.exit_code == 0, result.output
    readings = json.loads(result.stdout)["readings"]
    assert len(readings) == 12
    keys = {(r["reading"]["areas"], r["reading"]["counting"], r["reading"]["origins"]) for r in readings}
    assert len(keys) == 12
    for r in readings:
        assert len(r["areas"]) == (9 if r["reading"]["areas"] == "city" else 8)
        # counting any checkpoint can only add captures to the jurisdiction's
        if r["reading"]["counting"] == "any":
            same = next(o for o in readings if o["reading"]["counting"] == "jurisdiction"
                        and (o["reading"]["areas"], o["reading"]["origins"]) == (r["reading"]["areas"],
                                                                                r["reading"]["origins"]))
            for mine, theirs in zip(r["areas"], same["areas"], strict=True):
                assert (mine["min_captures_in"] or 0) >= (theirs["min_captures_in"] or 0)
