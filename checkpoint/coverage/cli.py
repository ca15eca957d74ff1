"""`checkpoint coverage ...`: the coverage check from the database or from a geodata folder."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.errors import DomainError

app = typer.Typer(no_args_is_help=True, help="Coverage: ≥ 2 captures on every route into and out of each area.")


@app.callback()
def coverage() -> None:
    """Coverage of the protected areas by their rings of checkpoints."""


@contextmanager
def _connected(redis: bool) -> Iterator[tuple[sessionmaker[Session], Redis | None]]:
    """Sessions on the configured database (and the bus), embedded servers started when unconfigured."""
    from checkpoint.core.bus import Bus
    from checkpoint.core.config import get_settings
    from checkpoint.core.db import Database
    from checkpoint.core.embedded import start_embedded

    settings = get_settings()
    embedded = start_embedded(settings.data_dir, need_postgres=not settings.database_url,
                              need_redis=redis and not settings.redis_url)
    try:
        url = settings.database_url or embedded.database_url
        assert url is not None
        Database.configure(url)
        assert Database.sessions is not None
        bus = Bus.configure(settings.redis_url or embedded.redis_url or "") if redis else None
        yield Database.sessions, bus
    finally:
        Bus.close()
        Database.dispose()
        embedded.stop()


def _from_database(offline: list[str], reading: Any) -> dict[str, Any]:
    from checkpoint.coverage.service import rule_report

    with _connected(redis=False) as (sessions, _bus), sessions() as session:
        return rule_report(session, reading, offline)


ReadingAreas = Annotated[str, typer.Option("--areas", help="centres: the city centre and the county centres "
                                                              "(the plan's words); city: the whole city as well")]
ReadingCounting = Annotated[str, typer.Option("--counting", help="whose checkpoints count: jurisdiction (the "
                                                                 "city or county entered), any, ring")]
ReadingOrigins = Annotated[str, typer.Option("--origins", help="two_lines: from outside the city or county "
                                                               "entered; strict: from anywhere outside the area")]
MinRoadClass = Annotated[str, typer.Option("--min-road-class", help="roads below this class are not normal "
                                                                    "driving lanes (graphs without classes keep all)")]


def _reading(areas: str, counting: str, origins: str, min_road_class: str) -> Any:
    from pydantic import ValidationError

    from checkpoint.coverage.reading import Reading

    try:
        return Reading.model_validate({"areas": areas, "counting": counting, "origins": origins,
                                       "min_road_class": min_road_class})
    except ValidationError as exc:
        raise typer.BadParameter("; ".join(str(e["msg"]) for e in exc.errors())) from None


def _setup_folder(folder: Path, roads: Path | None, reading: Any, offline: frozenset[str]) -> Any:
    from checkpoint.coverage import planner
    from checkpoint.coverage.files import areas_from, checkpoints_from
    from checkpoint.sites.geodata_load import read_road_graph

    checkpoints = checkpoints_from(folder / "checkpoints.geojson")
    unknown = offline - {c.code for c in checkpoints}
    if unknown:
        raise typer.BadParameter(f"no such checkpoint: {', '.join(sorted(unknown))}", param_hint="--offline")
    return planner.setup(read_road_graph(roads or folder / "roads.geojson"), areas_from(folder / "areas.geojson"),
                         checkpoints, reading, offline)


def _show(result: dict[str, Any]) -> None:
    words = result["reading"]["words"]
    typer.echo(f"reading: {words['areas']}; {words['counting']}; {words['origins']}; {words['roads']}")
    typer.echo(f"{'area':<16} {'name':<12} {'in':>3} {'out':>4} {'routes':>7} {'leaks':>6}  holds")
    for area in result["areas"]:
        shown = ["-" if v is None else str(v) for v in (area["min_captures_in"], area["min_captures_out"])]
        typer.echo(f"{area['code']:<16} {area['name']:<12} {shown[0]:>3} {shown[1]:>4} {area['routes']:>7} "
                   f"{area['leak_routes']:>6}  {'yes' if area['holds'] else 'NO'}")
    for leak in result["leaks"]["features"][:5]:
        typer.echo(f"  leak ({leak['properties']['captures']} captures): {leak['properties']['route']}")
    verdict = "holds" if result["holds"] else "does NOT hold"
    typer.echo(f"the ≥ 2 captures rule {verdict}; {len(result['leaks']['features'])} leak routes; "
               f"offline: {', '.join(result['offline']) or 'none'} ({result['seconds']} s)")


@app.command()
def check(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    geodata: Annotated[Path | None, typer.Option(help="read a geodata folder instead of the database")] = None,
    roads: Annotated[Path | None, typer.Option(help="road graph (.geojson, .osm, .osm.pbf) for --geodata")] = None,
    offline: Annotated[list[str] | None, typer.Option(help="treat this checkpoint as offline (repeatable)")] = None,
    areas: ReadingAreas = "centres", counting: ReadingCounting = "jurisdiction", origins: ReadingOrigins = "two_lines",
    min_road_class: MinRoadClass = "residential",
    every_reading: Annotated[bool, typer.Option("--every-reading", help="with --geodata --json: one result per "
                                                                        "reading (2 x 3 x 2), to compare")] = False,
) -> None:
    """Per area under the stated reading: the least captures on any route in and out, and the named leak routes."""
    reading = _reading(areas, counting, origins, min_road_class)
    if every_reading:
        from checkpoint.coverage import planner
        from checkpoint.coverage.reading import all_readings

        if geodata is None:
            raise typer.BadParameter("--every-reading needs --geodata")
        typer.echo(json.dumps({"readings": [planner.check(_setup_folder(geodata, roads, r, frozenset(offline or [])))
                                            for r in all_readings(min_road_class)]}, ensure_ascii=False))
        return
    try:
        if geodata is None:
            if roads is not None:
                raise typer.BadParameter("--roads needs --geodata (the database has its own road graph)")
            result = _from_database(offline or [], reading)
        else:
            from checkpoint.coverage import planner

            result = planner.check(_setup_folder(geodata, roads, reading, frozenset(offline or [])))
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        _show(result)


def _quotas(changed: list[str] | None) -> dict[str, int]:
    from checkpoint.coverage.planner import PLAN_QUOTAS

    quotas = dict(PLAN_QUOTAS)
    for item in changed or []:
        county, _, number = item.partition("=")
        if county not in quotas or not number.isdigit():
            raise typer.BadParameter(f"{item!r}: expected COUNTY=N with COUNTY one of {', '.join(quotas)}",
                                     param_hint="--quota")
        quotas[county] = int(number)
    return quotas


@app.command()
def place(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    geodata: Annotated[Path, typer.Option(help="geodata folder (areas, roads, checkpoints)")] = Path("geodata"),
    quota: Annotated[list[str] | None, typer.Option(help="change a county's quota: COUNTY=N (repeatable)")] = None,
    keep: Annotated[list[str] | None, typer.Option(help="keep this checkpoint where it is (repeatable)")] = None,
    forbid: Annotated[list[str] | None, typer.Option(help="no checkpoint on the road nearest LON,LAT")] = None,
    time_limit: Annotated[float, typer.Option(help="seconds for the solver; the gap says how far from proven")] = 60.0,
    write: Annotated[Path | None, typer.Option(help="write the optimised checkpoints.geojson here")] = None,
    spend_quota: Annotated[bool, typer.Option(help="spend each county's unused quota where the optimum's routes "
                                                   "run most (a second layer; the optimum stays as proven)")] = False,
    areas: ReadingAreas = "centres", counting: ReadingCounting = "jurisdiction", origins: ReadingOrigins = "two_lines",
    min_road_class: MinRoadClass = "residential",
) -> None:
    """The best positions for the plan's quotas (most routes holding, then fewest checkpoints), proven by a
    mixed-integer program, and the least checkpoints that would make the rule hold everywhere."""
    from checkpoint.coverage.placement_report import placement_result, write_checkpoints

    reading = _reading(areas, counting, origins, min_road_class)
    try:
        s = _setup_folder(geodata, None, reading, frozenset())
        result, features = placement_result(s, _quotas(quota), keep or [], _forbidden(s, forbid), time_limit,
                                            spend_quota)
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if write is not None:
        write_checkpoints(features, write)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    budget, full = result["optimum"], result["full_compliance"]
    for county in result["counties"]:
        typer.echo(f"{county['name']:<6} quota {county['quota']:>3}  used {county['used']:>3}  "
                   f"needed for full compliance {county['needed']:>3}")
    typer.echo(f"routes holding {budget['held']}/{budget['routes']} ({budget['unreachable']} unreachable on this "
               f"graph); status {budget['status']}, gap {budget['gap']}, {budget['seconds']} s; full compliance "
               f"needs {full['checkpoints']} checkpoints (gap {full['gap']}). Solver: {budget['solver']}")
    typer.echo(f"moved {len(result['changes']['moved'])}, added {len(result['changes']['added'])}, "
               f"removed {len(result['changes']['removed'])}, kept {len(result['changes']['kept'])}")


def _forbidden(s: Any, points: list[str] | None) -> frozenset[int]:
    found = set()
    for item in points or []:
        try:
            lon, lat = (float(v) for v in item.split(","))
        except ValueError:
            raise typer.BadParameter(f"{item!r}: expected LON,LAT", param_hint="--forbid") from None
        found.add(s.graph.nearest_edge((lon, lat)).edge.id)
    return frozenset(found)


@app.command()
def verify(window_s: Annotated[float, typer.Option(help="seconds of quiet that close a crossing")] = 600.0) -> None:
    """Run the live verifier on the pass stream until Ctrl-C (shares appear on the console's coverage page)."""
    from checkpoint.core.logging import setup_logging
    from checkpoint.coverage.worker import run
    from checkpoint.passes.writer import default_consumer

    setup_logging()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with _connected(redis=True) as (sessions, bus):
        assert bus is not None
        run(bus, sessions, default_consumer(), stop, window_s)


@app.command()
def traffic(trips: Annotated[int, typer.Option(help="vehicles, each crossing one area")] = 1000,
            read_rate: Annotated[float, typer.Option(help="chance a checkpoint reads a passing plate")] = 0.95,
            seed: Annotated[int, typer.Option()] = 7) -> None:
    """Append generated pass events (source 'test') to the pass stream, to watch the verifier at work."""
    from sqlalchemy import select

    from checkpoint.core.bus import PASSES_STREAM
    from checkpoint.coverage.service import model
    from checkpoint.coverage.traffic import generate
    from checkpoint.passes.record import CapturedPass, PassEvent
    from checkpoint.sites.models import Checkpoint

    with _connected(redis=True) as (sessions, bus), sessions() as session:
        assert bus is not None
        rows = {row.code: row for row in session.scalars(select(Checkpoint))}
        generated = generate(model(session), trips, seed=seed, read_rate=read_rate)
        for sighting in generated.sightings:
            row = rows[sighting.code]
            captured = CapturedPass(checkpoint_id=row.id, plate=sighting.plate, captured_at=sighting.seen_at,
                                    direction=sighting.direction, source="test")
            fields: Any = PassEvent(captured, lat=row.lat, lon=row.lon).to_fields()
            bus.xadd(PASSES_STREAM, fields)
    typer.echo(f"appended {len(generated.sightings)} pass events for {trips} trips "
               f"({len(generated.crossings)} crossings of protected areas)")
