"""Plate recognition commands (`checkpoint lpr read ...`, `checkpoint lpr eval ...`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from checkpoint.core.settings_groups import LprSettings
from checkpoint.lpr.engines import make_plate_engine
from checkpoint.lpr.errors import ImageError, ModelError
from checkpoint.lpr.images import load_image
from checkpoint.lpr.variants import VARIANTS

app = typer.Typer(no_args_is_help=True)

Threads = Annotated[int, typer.Option("--threads", min=1, help="ONNX Runtime intra-op threads")]
NoPaddle = Annotated[bool, typer.Option("--no-paddle", help="plate recogniser only (faster, less accurate)")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _engine(threads: int, no_paddle: bool) -> object:
    try:
        return make_plate_engine(LprSettings(intra_op_threads=threads, use_paddle=not no_paddle))
    except ModelError as exc:
        raise _fail(str(exc)) from None


def _parse_roi(text: str | None) -> tuple[int, int, int, int] | None:
    if text is None:
        return None
    try:
        x1, y1, x2, y2 = (int(v) for v in text.split(","))
    except ValueError:
        raise _fail(f"--roi must be x1,y1,x2,y2 in pixels, got {text!r}") from None
    return x1, y1, x2, y2


@app.command()
def read(
    images: Annotated[list[Path], typer.Argument(help="image files")],
    roi: Annotated[str | None, typer.Option(help="region of interest x1,y1,x2,y2")] = None,  # noqa: UP007 (typer)
    threads: Threads = 1,
    no_paddle: NoPaddle = False,
) -> None:
    """Read the plates in images: one JSON line per plate found."""
    region = _parse_roi(roi)
    engine = _engine(threads, no_paddle)
    failures = 0
    for path in images:
        try:
            reads = engine.read(load_image(path), region)  # type: ignore[attr-defined]
        except ImageError as exc:
            typer.echo(f"error: {exc}", err=True)
            failures += 1
            continue
        for plate in reads:
            typer.echo(json.dumps({"file": str(path), **plate.to_json()}, ensure_ascii=False))
    if failures:
        raise typer.Exit(code=1)


@app.command("eval")
def evaluate_command(
    folder: Annotated[Path, typer.Argument(help="folder holding labels.csv and the images")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object only")] = False,
    split: Annotated[str, typer.Option(help="all, tune (3/4) or holdout (every 4th image)")] = "all",
    variant: Annotated[str | None, typer.Option(help=f"hard variant: {', '.join(VARIANTS)}")] = None,  # noqa: UP007
    report: Annotated[Path | None, typer.Option(help="mistakes page (default lpr-mistakes-<folder>.html)")] = None,  # noqa: UP007
    threads: Threads = 1,
    no_paddle: NoPaddle = False,
) -> None:
    """Measure exact-plate and character accuracy, detection recall, false plates and speed."""
    from checkpoint.lpr.breakdown import table_lines
    from checkpoint.lpr.evaluate import evaluate
    from checkpoint.lpr.report import write_report

    if split not in ("all", "tune", "holdout"):
        raise _fail(f"--split must be all, tune or holdout, got {split!r}")
    if variant is not None and variant not in VARIANTS:
        raise _fail(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    if not (folder / "labels.csv").is_file():
        raise _fail(f"{folder / 'labels.csv'} not found")
    engine = _engine(threads, no_paddle)
    try:
        tally = evaluate(
            engine,  # type: ignore[arg-type]
            folder,
            split=split,  # type: ignore[arg-type]
            variant=variant,
            progress=lambda rows: tqdm(rows, desc=f"lpr eval {folder.name}", unit="img", file=sys.stderr, leave=False),
        )
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    summary = tally.summary()
    suffix = f"-{variant}" if variant else ""
    report_path = report or Path(f"lpr-mistakes-{folder.resolve().name}{suffix}.html")
    write_report(report_path, f"lpr eval {folder}{suffix} ({split})", dict(summary), tally.mistakes)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    typer.echo(f"images                 {summary['images']}")
    typer.echo(f"plates                 {summary['plates']}")
    typer.echo(f"exact-plate accuracy   {float(summary['exact_accuracy']):.2%}")  # type: ignore[arg-type]
    typer.echo(f"character accuracy     {float(summary['char_accuracy']):.2%}")  # type: ignore[arg-type]
    typer.echo(f"detection recall       {float(summary['detection_recall']):.2%}")  # type: ignore[arg-type]
    typer.echo(f"false plates / image   {summary['false_plates_per_image']}")
    typer.echo(f"median ms / image      {summary['ms_per_image_median']}")
    typer.echo(f"median ms / plate      {summary['ms_per_plate_median']}")
    typer.echo(f"province accuracy      {float(summary['province_accuracy']):.2%}")  # type: ignore[arg-type]
    for title, key in (("by province", "by_province"), ("by type", "by_type")):
        for line in table_lines(title, summary[key]):  # type: ignore[arg-type]
            typer.echo(line)
    typer.echo(f"mistakes ({len(tally.mistakes)}): {report_path}")


@app.command()
def synth(
    folder: Annotated[Path, typer.Argument(help="where to write the images and labels.csv")],
    per_cell: Annotated[int, typer.Option("--per-cell", min=1, help="plates per province and kind")] = 2,
    seed: Annotated[int, typer.Option(help="random seed (the same seed writes the same set)")] = 36,
) -> None:
    """Write the balanced synthetic set: every province x every GA 36 plate kind, labelled."""
    from checkpoint.lpr.plate_render import FontMissing
    from checkpoint.lpr.synthetic_set import write_balanced_set

    try:
        count = write_balanced_set(folder, per_cell=per_cell, seed=seed)
    except FontMissing as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{count} synthetic plates written to {folder} (evaluate: checkpoint lpr eval {folder})")
