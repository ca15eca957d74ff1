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


def test_place_names_method_bound_and_gap() -> None:
    result = CliRunner().invoke(app, ["place", "--json", "--geodata", str(GEODATA)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["holds_after"] and body["gap"] == 0 and body["new_checkpoints"] == body["lower_bound"] > 0
    table = CliRunner().invoke(app, ["place", "--geodata", str(GEODATA), "--core-depth-m", "1000"])
    assert table.exit_code == 0 and "Method: greedy" in table.stdout
