"""`checkpoint capture ...`: run video capture and the snapshot readers, register devices, make demo feeds."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from checkpoint.capture.synthetic.feed import generate_feed

app = typer.Typer(no_args_is_help=True)


@app.command("generate")
def generate(
    video: Annotated[Path, typer.Argument(help="output .mp4; the ground truth goes to the .json beside it")],
    vehicles: Annotated[int, typer.Option(help="vehicles in the feed")] = 10,
    width: int = 1920, height: int = 1080,
    gap_s: Annotated[float, typer.Option(help="seconds between vehicles")] = 3.0,
    seed: int = 0,
) -> None:
    """Write a generated lane feed (real plate crops from ../shared/data when present, else rendered)."""
    truth = generate_feed(video, vehicles=vehicles, size=(width, height), gap_s=gap_s, seed=seed)
    typer.echo(json.dumps({"video": truth.video, "frames": truth.frames, "vehicles": len(truth.vehicles),
                           "plate_source": truth.plate_source}, ensure_ascii=False))


@app.command("run")
def run(
    feeds_per_process: Annotated[int, typer.Option(help="feeds sharing one process and plate engine")] = 2,
    demo: Annotated[bool, typer.Option(help="first register generated feeds on three checkpoints")] = False,
    decoder: Annotated[str | None, typer.Option(help="pyav (YUV frames, BGR only for LPR) or opencv (the former "
                                                "reader); default CHECKPOINT_CAPTURE__DECODER")] = None,
    decoder_nice: Annotated[int | None, typer.Option(help="nice added to decoder threads, so LPR goes first; "
                                                     "default CHECKPOINT_CAPTURE__DECODER_NICE")] = None,
) -> None:
    """Run the capture supervisor on the enabled rtsp/http/file feeds until Ctrl-C, following registry changes."""
    from checkpoint.capture.video.config import FeedConfig
    from checkpoint.capture.video.feeds import ensure_demo_feeds, video_feed_configs
    from checkpoint.capture.video.supervisor import Supervisor
    from checkpoint.core.config import get_settings
    from checkpoint.core.db import Database
    from checkpoint.core.logging import setup_logging

    setup_logging()
    settings = get_settings()
    if not settings.database_url or not settings.redis_url:
        typer.echo("error: set CHECKPOINT_DATABASE_URL and CHECKPOINT_REDIS_URL (the servers `serve` uses)", err=True)
        raise typer.Exit(code=2)
    Database.configure(settings.database_url)
    assert Database.sessions is not None
    with Database.sessions() as session:
        if demo:
            ensure_demo_feeds(session, settings.data_dir)
            session.commit()
        configs = video_feed_configs(session, settings.capture)
    if decoder not in (None, "pyav", "opencv"):
        typer.echo(f"error: --decoder must be pyav or opencv, not {decoder!r}", err=True)
        raise typer.Exit(code=2)
    configs = [replace(config, decoder=decoder or config.decoder,  # type: ignore[arg-type]  # checked above
                       decoder_nice=config.decoder_nice if decoder_nice is None else decoder_nice)
               for config in configs]
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    supervisor = Supervisor(configs, settings.redis_url, settings.data_dir, settings.lpr,
                            feeds_per_process=feeds_per_process).start()
    typer.echo(f"capturing {len(configs)} feeds in {len(supervisor.processes)} processes, following the registry; "
               "Ctrl-C stops")
    Database.configure(settings.database_url)

    def registry() -> list[FeedConfig]:
        assert Database.sessions is not None
        with Database.sessions() as session:
            return [replace(config, decoder=decoder or config.decoder,  # type: ignore[arg-type]  # checked above
                            decoder_nice=config.decoder_nice if decoder_nice is None else decoder_nice)
                    for config in video_feed_configs(session, settings.capture)]

    supervisor.run(stop, registry=registry)



@app.command("add-device")
def add_device(
    code: Annotated[str, typer.Argument(help="the device's own id (GA/T 1400 SBBH)")],
    checkpoint: Annotated[str, typer.Option(help="the checkpoint's code, e.g. HZ-441302-01")],
    kind: Annotated[str, typer.Option(help="smart: pushes pass records; snapshot: pushes JPEGs we read")] = "smart",
    lane: Annotated[list[int] | None, typer.Option(help="a lane it covers (repeat; none: every lane)")] = None,
    direction: Annotated[str | None, typer.Option(help="in or out (none: each push says)")] = None,
    name: str = "",
) -> None:
    """Register a pushing camera on a checkpoint's lanes and print its API key (shown this once)."""
    from pydantic import ValidationError

    from checkpoint.capture.schemas import DeviceCreate
    from checkpoint.capture.service import register_device
    from checkpoint.core.config import get_settings
    from checkpoint.core.errors import DomainError

    settings = get_settings()
    if not settings.database_url:
        typer.echo("error: set CHECKPOINT_DATABASE_URL (the server `serve` uses)", err=True)
        raise typer.Exit(code=2)
    try:
        body = DeviceCreate.model_validate({"code": code, "name": name, "checkpoint": checkpoint,
                                            "lanes": lane or [], "direction": direction, "kind": kind})
    except ValidationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as session:
            device, api_key = register_device(session, body)
            session.commit()
            shown = {"id": device.id, "code": device.code, "kind": device.kind, "lanes": device.lanes,
                     "api_key": api_key}
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps(shown, ensure_ascii=False))


@app.command("snapshots")
def snapshots(
    processes: Annotated[int, typer.Option(help="LPR processes (0: CHECKPOINT_CAPTURE__SNAPSHOT_WORKERS, "
                                                "else one per core)")]
    = 0,
    repeat_window_s: Annotated[float | None, typer.Option(help="same plate, same checkpoint within this: one pass "
                                                           "(default CHECKPOINT_CAPTURE__REPEAT_WINDOW_S)")] = None,
) -> None:
    """Read the plates of pushed snapshots (checkpoint:snapshots -> checkpoint:reads) until Ctrl-C."""
    from checkpoint.capture.snapshot_worker import SnapshotPool
    from checkpoint.core.config import get_settings
    from checkpoint.core.logging import setup_logging

    setup_logging()
    settings = get_settings()
    if not settings.redis_url:
        typer.echo("error: set CHECKPOINT_REDIS_URL (the server `serve` uses)", err=True)
        raise typer.Exit(code=2)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pool = SnapshotPool(settings.redis_url, settings.data_dir, processes or settings.capture.snapshot_workers,
                        settings.lpr, repeat_window_s=repeat_window_s or settings.capture.repeat_window_s, lazy=False)
    typer.echo(f"reading snapshots in {pool.size} processes; Ctrl-C stops")
    pool.run(stop)


@app.command("registry-import")
def registry_import(
    csv_file: Annotated[Path, typer.Argument(help="the registry CSV (columns as `registry-export` writes them)")],
) -> None:
    """Add and change feeds and devices from a CSV; wrong rows are reported by line, the others applied (audited)."""
    from checkpoint.capture import registry
    from checkpoint.core import audit
    from checkpoint.core.config import get_settings

    settings = get_settings()
    if not settings.database_url:
        typer.echo("error: set CHECKPOINT_DATABASE_URL (the server `serve` uses)", err=True)
        raise typer.Exit(code=2)
    raw = csv_file.read_bytes()
    try:
        rows = registry.read_csv(raw.decode("utf-8") if raw[:3] == b"\xef\xbb\xbf" or _utf8(raw)
                                 else raw.decode("gb18030", errors="replace"))
    except registry.RowRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as session:
            report = registry.import_rows(session, rows, settings.intake.digest_realm)
            audit.record(session, None, "registry.import", actor_name="cli",
                         detail=registry.audit_detail(report, file=csv_file.name))
            session.commit()
    finally:
        engine.dispose()
    for line, reason in report.errors:
        typer.echo(f"line {line}: {reason}", err=True)
    typer.echo(json.dumps({"added": report.added, "changed": report.changed, "unchanged": report.unchanged,
                           "errors": len(report.errors)}))
    if report.errors:
        raise typer.Exit(code=1)


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@app.command("registry-export")
def registry_export(
    csv_file: Annotated[Path | None, typer.Argument(help="where to write; default: standard output")] = None,
) -> None:
    """Write every feed and device, one row per camera lane, passwords hidden."""
    from checkpoint.capture import registry
    from checkpoint.core import audit
    from checkpoint.core.config import get_settings

    settings = get_settings()
    if not settings.database_url:
        typer.echo("error: set CHECKPOINT_DATABASE_URL (the server `serve` uses)", err=True)
        raise typer.Exit(code=2)
    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as session:
            text = registry.to_csv(registry.export_rows(session))
            audit.record(session, None, "registry.export", actor_name="cli", detail={"file": str(csv_file or "-")})
            session.commit()
    finally:
        engine.dispose()
    if csv_file is None:
        typer.echo(text, nl=False)
    else:
        csv_file.write_text("\ufeff" + text, encoding="utf-8")


@app.command("simulate")
def simulate() -> None:
    """Play the demo's pushing cameras (GA/T 1400, smart, snapshot) against a running server, until Ctrl-C.

    The devices and their secrets come as JSON in CHECKPOINT_SIMULATOR (checkpoint demo sets it).
    """
    import os

    from checkpoint.capture.demo_devices import SIMULATOR_ENV
    from checkpoint.capture.viid.simulator import run_plan
    from checkpoint.core.logging import setup_logging

    setup_logging()
    if not os.environ.get(SIMULATOR_ENV):
        typer.echo(f"error: set {SIMULATOR_ENV} (checkpoint demo does)", err=True)
        raise typer.Exit(code=2)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_plan(json.loads(os.environ[SIMULATOR_ENV]), stop)
