"""The `checkpoint` command: serve, demo, migrate, and each domain's own commands mounted."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.audit_cli import app as audit_app
from checkpoint.capture.video.cli import app as capture_app
from checkpoint.core.config import get_settings
from checkpoint.core.errors import DomainError
from checkpoint.core.logging import setup_logging
from checkpoint.core.metrics import MULTIPROC_ENV, prepare_multiprocess
from checkpoint.core.migrate import current_revision, upgrade
from checkpoint.coverage.cli import app as coverage_app
from checkpoint.dead_letters_cli import app as dead_letters_app
from checkpoint.lpr.cli import app as lpr_app
from checkpoint.passes.cli import app as passes_app
from checkpoint.sites import cli as sites_cli
from checkpoint.sites.cli import app as geodata_app
from checkpoint.sites.geodata_load import load_geodata, load_roads
from checkpoint.trajectory.cli import app as trajectory_app
from checkpoint.user_cli import app as user_app
from checkpoint.watchlist.cli import app as watchlist_app


def _optimal_placement(folder: Path) -> dict[str, int]:
    """`geodata build` ends with coverage's optimal placement (imported only then: the solver is heavy)."""
    from checkpoint.coverage.placement_report import write_reference_placement

    return write_reference_placement(folder)


sites_cli.placer = _optimal_placement
SSE_SHUTDOWN_S = 3  # the dispatchers' live streams never end by themselves: at shutdown they get this long

app = typer.Typer(help="Checkpoint: road-checkpoint capture and network-wide watchlist hits.", no_args_is_help=True)
app.add_typer(user_app, name="user", help="Add and manage users.")
app.add_typer(audit_app, name="audit", help="Audit log: verify its hash chain, anchor its head outside the database.")
app.add_typer(geodata_app, name="geodata", help="Build, check and load the map data (areas, roads, checkpoints).")
app.add_typer(coverage_app, name="coverage", help="Coverage: ≥ 2 captures into and out of each area.")
app.add_typer(lpr_app, name="lpr", help="Plate recognition: read images, evaluate accuracy.")
app.add_typer(passes_app, name="passes", help="Pass path: run the passes writer, apply retention.")
app.add_typer(watchlist_app, name="watchlist", help="Watchlist: run a matcher, rebuild the Redis index.")
app.add_typer(capture_app, name="capture", help="Video capture: run the feed supervisor, generate test feeds.")
app.add_typer(trajectory_app, name="trajectory", help="Trajectories: summarise closed days for the analyses.")
app.add_typer(dead_letters_app, name="dead-letters", help="Dead letters: list what consumers gave up on, replay it.")


def _serve(host: str | None, port: int | None, demo: bool = False, video_feeds: int = 0,
           api_processes: int = 1, workers_apart: bool = False) -> None:
    from checkpoint.main import create_app
    from checkpoint.runtime import running_system
    from checkpoint.serving import serve_api_processes
    from checkpoint.workers import start_workers

    setup_logging()
    settings = get_settings()
    if not os.environ.get(MULTIPROC_ENV):  # the LPR and API processes started below count into files there
        prepare_multiprocess(settings.data_dir / "metrics")
    host, port = host or settings.host, port or settings.port
    started = time.monotonic()
    # uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown: turn both into a normal exit so
    # the embedded servers below are stopped cleanly (a bare SIGTERM would kill us before that).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    with running_system(settings) as system:
        workers = start_workers(system, apart=workers_apart)
        demo_passwords: dict[str, str] = {}
        if demo:
            from checkpoint.demo import DEMO_USERS, TAXI_PLATE, ensure_demo_users, start_demo

            sessions = sessionmaker(bind=system.engine, expire_on_commit=False)
            demo_passwords = ensure_demo_users(sessions)
            local = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # where the demo's cameras push
            workers.threads += start_demo(system.bus, sessions, workers.stop_event, system.redis_url,
                                          settings, video_feeds, base_url=f"http://{local}:{port}")
        server = None if api_processes > 1 else uvicorn.Server(uvicorn.Config(
            create_app(), host=host, port=port, log_config=None, access_log=False,
            timeout_graceful_shutdown=SSE_SHUTDOWN_S, ssl_certfile=settings.tls_files()[0],
            ssl_keyfile=settings.tls_files()[1]))
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        scheme = "https" if settings.tls_cert else "http"
        ready_s = time.monotonic() - started
        typer.echo(f"Checkpoint console: {scheme}://{shown_host}:{port}/  (ready in {ready_s:.1f} s)")
        if system.embedded.database_url:
            typer.echo(f"embedded PostgreSQL and Redis keep their data in {settings.data_dir.resolve()}")
        if system.first_admin_password:
            typer.echo("first start: created user 'admin' with password (shown once, change it after login):")
            typer.echo(f"    {system.first_admin_password}")
            typer.echo("then add a security admin (grants roles), an auditor and approvers: "
                       "checkpoint user add NAME --role security_admin|auditor|approver")
        for name, password in demo_passwords.items():
            typer.echo(f"demo user {name} created with password (shown once): {password}    {DEMO_USERS[name][0]}")
        if demo:
            typer.echo(f"demo: generated traffic on the 120 checkpoints; a watch on {TAXI_PLATE} hits within about "
                       "a minute (log in as demo.dispatcher, page 预警 Alerts); at first start the last 7 days "
                       "are loaded too (under a minute)")
        try:
            if server is None:
                serve_api_processes(system, host, port, api_processes)
            else:
                server.run()
        finally:
            workers.stop()  # before the servers go: each worker commits and acks its batch
    logging.getLogger(__name__).info("core.stopped")


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default CHECKPOINT_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default CHECKPOINT_PORT)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="API processes (uvicorn workers) sharing the port; the "
                                                     "stream workers run once, in this process")] = 1,
    workers_apart: Annotated[bool, typer.Option(
        "--workers-apart", help="the passes writer, matcher, snapshot LPR and coverage live run as services of "
                                "their own (deploy/); this process keeps the API, feed history and the hourly "
                                "jobs")] = False,
) -> None:
    """Run the API and console, and every stream worker under one supervisor (embedded PostgreSQL and Redis
    unless URLs are configured)."""
    _serve(host, port, api_processes=workers, workers_apart=workers_apart)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    video_feeds: Annotated[int, typer.Option(help="also run capture with LPR on N generated videos "
                                                  "(about one core per 2 feeds)")] = 0,
) -> None:
    """Run the whole system with generated traffic, demo users and a watch that hits within a minute."""
    _serve(host, port, demo=True, video_feeds=video_feeds)


@app.command("backup")
def backup_command(destination: Annotated[Path, typer.Argument(help="folder to write the backup folder into")]
                   ) -> None:
    """Back up the database (one consistent snapshot) and the images, with a manifest to verify a restore."""
    from checkpoint.backup import backup
    from checkpoint.runtime import running_system

    settings = get_settings()
    with running_system(settings, prepare=False, redis=False) as system:
        folder = backup(system.database_url, settings.data_dir, destination)
    typer.echo(f"backup written to {folder}")


@app.command("restore")
def restore_command(folder: Annotated[Path, typer.Argument(help="a folder written by `checkpoint backup`")]) -> None:
    """Restore a backup into the configured, EMPTY database and the data directory, then verify it."""
    from checkpoint.backup import restore
    from checkpoint.runtime import running_system

    settings = get_settings()
    with running_system(settings, prepare=False, redis=False) as system:
        try:
            verified = restore(system.database_url, settings.data_dir, folder)
        except DomainError as exc:
            typer.echo(f"restore refused: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"restored and verified: {verified.counts}, {verified.images} images")


@app.command()
def migrate() -> None:
    """Apply database migrations (also done at every start)."""
    from checkpoint.runtime import running_system

    with running_system(get_settings(), prepare=False, redis=False) as system:
        upgrade(system.engine)
        typer.echo(f"database at revision {current_revision(system.engine)}")


@geodata_app.command("load")
def geodata_load(folder: Annotated[Path, typer.Argument(help="geodata folder")] = Path("geodata")) -> None:
    """Load a geodata folder into the database: upsert areas and checkpoints, replace the roads."""
    _with_session(lambda session: load_geodata(session, folder), "loaded {result}")


@geodata_app.command("load-roads")
def geodata_load_roads(path: Annotated[Path, typer.Argument(help=".osm, .osm.pbf or road-graph .geojson")]) -> None:
    """Replace the road graph with an OpenStreetMap extract or road GeoJSON; checkpoints re-snap."""
    _with_session(lambda session: load_roads(session, path), "road graph replaced: {result} edges")


def _with_session(work: Callable[[Session], object], done: str) -> None:
    from checkpoint.core.db import Database
    from checkpoint.runtime import running_system

    try:
        with running_system(get_settings(), redis=False):
            assert Database.sessions is not None
            with Database.sessions() as session:
                result = work(session)
                session.commit()
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(done.format(result=result))


def main() -> None:
    app()
