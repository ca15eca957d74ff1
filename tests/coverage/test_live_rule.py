"""The live check per area under the plan's reading: a county's checkpoints count for its centre and the city's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis as redis_lib

from checkpoint.coverage import planner
from checkpoint.coverage.files import areas_from, checkpoints_from
from checkpoint.coverage.live_rule import ReadingTally, reading_live, record_areas
from checkpoint.coverage.reading import Reading
from checkpoint.coverage.verifier import Sighting
from checkpoint.sites.geodata_load import read_road_graph

GEODATA = Path(__file__).resolve().parents[2] / "geodata"


def test_sightings_count_for_every_area_their_checkpoint_serves(bus: redis_lib.Redis) -> None:
    s = planner.setup(read_road_graph(GEODATA / "roads.geojson"), areas_from(GEODATA / "areas.geojson"),
                      checkpoints_from(GEODATA / "checkpoints.geojson"), Reading())
    tally = ReadingTally(s, window_s=600)
    huiyang = [code for code, areas in tally.counts_for.items() if "441303-centre" in areas]
    assert len(huiyang) == 20 and all(tally.counts_for[c] == ["441300-centre", "441303-centre"] for c in huiyang)
    t0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    closed = [*tally.observe(Sighting("粤L00001", huiyang[0], t0, "in")),
              *tally.observe(Sighting("粤L00001", huiyang[1], t0 + timedelta(minutes=2), "in")),
              *tally.observe(Sighting("粤L00002", huiyang[2], t0, "in"))]
    assert closed == []  # still open within the window
    closed = tally.flush(t0 + timedelta(hours=1))
    by = {(c.plate, c.area): c.double for c in closed}
    assert by == {("粤L00001", "441300-centre"): True, ("粤L00001", "441303-centre"): True,
                  ("粤L00002", "441300-centre"): False, ("粤L00002", "441303-centre"): False}
    record_areas(bus, closed)
    live = reading_live(bus, planner.check(s))
    row = next(a for a in live["areas"] if a["code"] == "441303-centre")
    assert (row["crossings"], row["double"], row["share"], row["static_holds"]) == (2, 1, 0.5, True)
    assert live["reading"]["counting"] == "jurisdiction"
