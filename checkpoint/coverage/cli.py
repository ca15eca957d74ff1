"""`checkpoint coverage ...`: the coverage check from the database or from a geodata folder."""

from __future__ import annotations

import json
import signal
import threading
import time
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


def _from_database(offline: list[str], core_depth_m: float) -> dict[str, Any]:
    from checkpoint.coverage.schemas import WhatIf
    from checkpoint.coverage.service import coverage_report

    with _connected(redis=False) as (sessions, _bus), sessions() as session:
        return coverage_report(session, WhatIf(offline=offline, core_depth_m=core_depth_m))


def _from_folder(folder: Path, roads: Path | None, offline: list[str], core_depth_m: float) -> dict[str, Any]:
    from checkpoint.coverage.analysis import analyze
    from checkpoint.coverage.files import model_from_folder
    from checkpoint.coverage.report import report_json

    started = time.perf_counter()
    model = model_from_folder(folder, roads, core_depth_m)
    unknown = set(offline) - set(model.points)
    if unknown:
        raise typer.BadParameter(f"no such checkpoint: {', '.join(sorted(unknown))}", param_hint="--offline")
    report = analyze(model.network, model.areas, model.checkpoints, offline=model.inactive | set(offline))
    return report_json(model, report, seconds=round(time.perf_counter() - started, 4))


def _show(result: dict[str, Any]) -> None:
    typer.echo(f"{'area':<16} {'name':<8} {'in':>3} {'out':>4} {'crossings':>9} {'leaks':>6}  holds")
    for area in result["areas"]:
        shown = ["-" if v is None else str(v) for v in (area["min_captures_in"], area["min_captures_out"])]
        typer.echo(f"{area['code']:<16} {area['name']:<8} {shown[0]:>3} {shown[1]:>4} {area['crossings']:>9} "
                   f"{area['leak_routes']:>6}  {'yes' if area['holds'] else 'NO'}")
    verdict = "holds" if result["holds"] else "does NOT hold"
    typer.echo(f"the ≥ 2 captures rule {verdict}; {len(result['leaks']['features'])} leak routes; "
               f"offline: {', '.join(result['offline']) or 'none'} ({result['seconds']} s)")


@app.command()
def check(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    geodata: Annotated[Path | None, typer.Option(help="read a geodata folder instead of the database")] = None,
    roads: Annotated[Path | None, typer.Option(help="road graph (.geojson, .osm, .osm.pbf) for --geodata")] = None,
    offline: Annotated[list[str] | None, typer.Option(help="treat this checkpoint as offline (repeatable)")] = None,
    core_depth_m: Annotated[float, typer.Option(min=0, help="routes must reach junctions this deep inside "
                                                            "(a second line further in then counts); 0: any")] = 0.0,
) -> None:
    """Per area: the least captures on any route in and out, and the leak routes (fewer than 2)."""
    try:
        if geodata is None and roads is not None:
            raise typer.BadParameter("--roads needs --geodata (the database has its own road graph)")
        result = (_from_folder(geodata, roads, offline or [], core_depth_m) if geodata
                  else _from_database(offline or [], core_depth_m))
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        _show(result)


@app.command()
def place(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    geodata: Annotated[Path, typer.Option(help="geodata folder (areas, roads, checkpoints)")] = Path("geodata"),
    core_depth_m: Annotated[float, typer.Option(min=0, help="as for check")] = 0.0,
) -> None:
    """The fewest new checkpoints (on road edges) that bring every area to ≥ 2, with the method and its gap."""
    from checkpoint.coverage.analysis import analyze
    from checkpoint.coverage.files import model_from_folder
    from checkpoint.coverage.placement import as_checkpoints
    from checkpoint.coverage.placement import place as plan_placement
    from checkpoint.coverage.report import placement_json

    try:
        model = model_from_folder(geodata, core_depth_m=core_depth_m)
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    before = analyze(model.network, model.areas, model.checkpoints, offline=model.inactive)
    plan = plan_placement(model.network, model.areas, model.checkpoints, model.inactive)
    after = analyze(model.network, model.areas, [*model.checkpoints, *as_checkpoints(plan)], offline=model.inactive,
                    with_criticality=False)
    result = placement_json(model, plan, after, before)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    for area in result["areas"]:
        typer.echo(f"{area['area']:<16} +{area['new_checkpoints']:<4} lower bound {area['lower_bound']:<4} "
                   f"gap {area['gap']}{'' if area['reached'] else '  (not reached)'}")
    verdict = "holds" if result["holds_after"] else "still fails"
    typer.echo(f"{result['new_checkpoints']} new checkpoints (lower bound {result['lower_bound']}, "
               f"gap {result['gap']}); then the rule {verdict}. Method: {result['method']}")


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
