"""Capture benchmarks: one pass per vehicle on a long generated feed, and live 1080p feeds in real time.

    python -m bench.bench_capture accuracy --vehicles 200 [--width 1280 --height 720] [--processes 2]
    python -m bench.bench_capture realtime --video /tmp/rt1080.mp4 --feeds 4 --seconds 40

`accuracy` renders frames in memory (no video file: 200 vehicles of noisy 1080p would be
gigabytes) and hands every `--detect-every`-th frame to a FeedWorker, as a replayed file would.
`realtime` runs N live feeds (the same file, paced at its frame rate, looped) under the
supervisor and reports decoded fps, dropped frames, passes per vehicle and pass latency.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis

from bench.capture_store import StoringWriter
from checkpoint.capture.synthetic.feed import FeedTruth, truth_path
from checkpoint.capture.synthetic.plates import plate_samples
from checkpoint.capture.synthetic.scene import LaneScene, Vehicle, schedule
from checkpoint.capture.video.config import FeedConfig
from checkpoint.capture.video.reader import Frame
from checkpoint.capture.video.status import read_feed_status
from checkpoint.capture.video.supervisor import Supervisor
from checkpoint.capture.video.tracker import Track
from checkpoint.capture.video.worker import FeedWorker
from checkpoint.core.bus import READS_STREAM
from checkpoint.lpr import LprSettings, make_plate_engine
from checkpoint.passes.record import CapturedPass


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def appended(bus: Redis) -> list[tuple[str, CapturedPass]]:
    entries: list[tuple[str, dict[str, str]]] = bus.xrange(READS_STREAM)  # type: ignore[assignment]  # decoded
    return [(msg_id, CapturedPass.from_fields(fields)) for msg_id, fields in entries]


def vehicle_of(scene: LaneScene, vehicles: list[Vehicle], track: Track) -> int | None:
    """The vehicle whose plate the track's best read lies on, in the best read's frame (None: on no plate)."""
    best = max(track.sightings, key=lambda sighting: sighting.read.confidence)
    x, y = best.centre
    for vehicle in vehicles:
        box = scene.plate_box(best.frame_index, vehicle)
        margin = best.width / 2
        if box is not None and box[0] - margin <= x <= box[2] + margin and box[1] - margin <= y <= box[3] + margin:
            return vehicle.plate_index
    return None


def accuracy_part(args: dict[str, Any]) -> dict[str, Any]:
    """One process's share of the vehicles: render, run the worker on the frames, score each vehicle.

    Each pass is given to the vehicle whose plate its best read lies on, so a vehicle read as a
    wrong plate still counts as one pass (with a wrong plate), and a second pass of the same
    vehicle counts as a duplicate whatever its plate.
    """
    bus = Redis.from_url(args["redis"], decode_responses=True)
    source, samples = plate_samples(args["vehicles"], seed=args["seed"], source=args["plates"])
    size = (args["width"], args["height"])
    vehicles = schedule(len(samples), gap_s=args["gap_s"], crossing_s=args["crossing_s"], seed=args["seed"])
    scene = LaneScene(size, 25.0, vehicles, [s.image for s in samples], seed=args["seed"], plate_px=args["plate_px"])
    config = FeedConfig(feed_id=args["feed_id"], checkpoint_id=1, checkpoint_code="BENCH", source="memory",
                        replay=True, detect_every=args["detect_every"])
    worker = FeedWorker(config, make_plate_engine(LprSettings()), bus, Path(args["data_dir"]))
    emitted: list[tuple[int | None, CapturedPass]] = []  # counted here, not from Redis: other suites may restart it
    emit = worker.emitter.emit

    def recording_emit(track: Track) -> CapturedPass | None:
        captured = emit(track)
        if captured is not None:
            emitted.append((vehicle_of(scene, vehicles, track), captured))
        return captured

    worker.emitter.emit = recording_emit  # type: ignore[method-assign]  # a benchmark's own tap
    start = datetime.now(UTC)
    frames = int((max(v.enter_s + v.crossing_s for v in vehicles) + 1.0) * 25)
    started = time.monotonic()
    for index in range(frames):
        if index % args["detect_every"] == 0:  # the other frames would be skipped by the worker anyway
            worker._process(Frame(index, start + timedelta(seconds=index / 25), time.monotonic(), scene.frame(index)))
    worker._end_tracks(worker.tracker.flush())
    got = Counter(captured.plate for _vehicle, captured in emitted)
    truth = [samples[v.plate_index].text for v in vehicles]
    by_vehicle: dict[int | None, list[str]] = {}
    for vehicle, captured in emitted:
        by_vehicle.setdefault(vehicle, []).append(captured.plate)
    per_vehicle = [by_vehicle.get(v.plate_index, []) for v in vehicles]
    return {"plate_source": source, "vehicles": len(truth), "frames": frames, "wall_s": time.monotonic() - started,
            "one_pass": sum(len(plates) == 1 for plates in per_vehicle),
            "one_pass_exact": sum(plates == [plate] for plates, plate in zip(per_vehicle, truth, strict=True)),
            "no_pass": sum(not plates for plates in per_vehicle),
            "several_passes": sum(len(plates) > 1 for plates in per_vehicle),
            "wrong_plate": sum(p != plate for plates, plate in zip(per_vehicle, truth, strict=True) for p in plates),
            "unattributed": len(by_vehicle.get(None, [])),
            "exactly_one": sum(got[plate] == 1 for plate in truth), "missed": sum(got[plate] == 0 for plate in truth),
            "duplicates": sum(max(0, len(plates) - 1) for plates in per_vehicle),
            "false_plates": sum(n for plate, n in got.items() if plate not in truth),
            "lpr_frames": worker.status.health.processed, "counts": {
                k: v for k, v in vars(worker.emitter.counts).items() if k != "latencies_s"},
            "failures": [[plate, got_plates] for got_plates, plate in zip(per_vehicle, truth, strict=True)
                         if got_plates != [plate]],
            "unattributed_plates": by_vehicle.get(None, [])}


def accuracy(args: argparse.Namespace) -> dict[str, Any]:
    """Vehicles split over processes (seeds 100, 101, ...); one pass and plate counted per vehicle."""
    share = -(-args.vehicles // args.processes)
    parts = [{"redis": args.redis, "vehicles": min(share, args.vehicles - i * share), "seed": 100 + i,
              "plates": args.plates, "width": args.width, "height": args.height, "gap_s": args.gap_s,
              "crossing_s": args.crossing_s, "plate_px": args.plate_px, "feed_id": 9000 + i,
              "detect_every": args.detect_every, "data_dir": tempfile.mkdtemp(prefix="bench-capture-")}
             for i in range(args.processes)]
    Redis.from_url(args.redis).delete(READS_STREAM)
    load_before = os.getloadavg()
    with mp.get_context("spawn").Pool(args.processes) as pool:
        results = pool.map(accuracy_part, parts)
    total = {key: sum(r[key] for r in results) for key in
             ("vehicles", "one_pass", "one_pass_exact", "no_pass", "several_passes", "wrong_plate", "unattributed",
              "exactly_one", "missed", "duplicates", "false_plates", "frames", "lpr_frames")}
    vehicles = max(1, total["vehicles"])
    lpr = LprSettings()
    return {"bench": "capture.accuracy", **total, "plate_source": results[0]["plate_source"],
            "size": f"{args.width}x{args.height}", "detect_every": args.detect_every,
            "lpr": {"detect_threshold": lpr.detect_threshold, "min_confidence": lpr.min_confidence},
            "one_pass_pct": round(100 * total["one_pass"] / vehicles, 2),
            "one_pass_exact_pct": round(100 * total["one_pass_exact"] / vehicles, 2),
            "duplicate_pct": round(100 * total["duplicates"] / vehicles, 2),
            "wall_s": round(max(r["wall_s"] for r in results), 1),
            "load_avg_before": [round(v, 2) for v in load_before],
            "load_avg_after": [round(v, 2) for v in os.getloadavg()],
            "emitter": [r["counts"] for r in results],
            "failures": [failure for r in results for failure in r["failures"]],  # [plate, [plates of its passes]]
            "unattributed_plates": [p for r in results for p in r["unattributed_plates"]]}


def realtime(args: argparse.Namespace) -> dict[str, Any]:
    truth = FeedTruth.load(truth_path(Path(args.video)))
    bus = Redis.from_url(args.redis, decode_responses=True)
    bus.delete(READS_STREAM)
    loop_s = truth.frames / truth.fps  # the looped file shows the same plates again after loop_s: a shorter window
    throttle = {} if args.lpr_throttle else {"well_read_every_s": 0.0, "search_every_s": 0.0}
    if args.lpr_throttle and args.search_every_s is not None:
        throttle["search_every_s"] = args.search_every_s
    feeds = [FeedConfig(feed_id=8000 + i, checkpoint_id=1, checkpoint_code="BENCH", source=args.video, kind="file",
                        loop=True, repeat_window_s=min(60.0, loop_s / 2), decoder=args.decoder,
                        decoder_nice=args.decoder_nice, max_lag_s=args.max_lag_s, **throttle)  # type: ignore[arg-type]
             for i in range(args.feeds)]
    for feed in feeds:
        bus.delete(f"checkpoint:feed:{feed.feed_id}")
    lpr = LprSettings(detect_scale=args.detect_scale)
    if args.coarse_scale is not None:
        lpr = lpr.model_copy(update={"coarse_scale": args.coarse_scale})
    if args.paddle_when:  # otherwise the engine's default (docs/BENCHMARKS.md, LPR section)
        lpr = lpr.model_copy(update={"paddle_when": args.paddle_when})
    storing = StoringWriter(args.redis).start() if args.store else None
    supervisor = Supervisor(feeds, args.redis, Path(tempfile.mkdtemp(prefix="bench-capture-")), lpr,
                            feeds_per_process=-(-args.feeds // args.processes)).start()
    load_before = os.getloadavg()[0]
    time.sleep(args.warmup_s)  # engines load and feeds connect; a benchmark may wait, a test may not
    since = datetime.now(UTC)
    cpu_before = capture_cpu_s(supervisor)
    time.sleep(args.seconds)
    cpu_used_s = capture_cpu_s(supervisor) - cpu_before
    statuses = [read_feed_status(bus, feed.feed_id) for feed in feeds]
    supervisor.run(_set_event())
    stored = None
    if storing is not None:
        storing.finish()
        stored = storing.latencies(since)
    passes = [(msg_id, p) for msg_id, p in appended(bus) if p.captured_at >= since]
    latencies = [int(msg_id.split("-")[0]) / 1000 - p.captured_at.timestamp() for msg_id, p in passes]
    expected = args.feeds * len(truth.vehicles) * args.seconds / (truth.frames / truth.fps)
    plates = {v.plate for v in truth.vehicles}
    return {"bench": "capture.realtime", "feeds": args.feeds, "processes": args.processes,
            "size": f"{truth.width}x{truth.height}", "seconds": args.seconds,
            "fps_per_feed": [float(s.get("fps", 0)) for s in statuses],
            "dropped_per_feed": [int(s.get("dropped", 0)) for s in statuses],
            "skipped_per_feed": [int(s.get("skipped", 0)) for s in statuses],
            "lag_s_per_feed": [float(s.get("lag_s", 0)) for s in statuses],
            "decoder": args.decoder, "decoder_nice": args.decoder_nice, "max_lag_s": args.max_lag_s,
            "lpr_throttle": args.lpr_throttle, "search_every_s": feeds[0].search_every_s,
            "lpr": {"paddle_when": lpr.paddle_when, "detect_scale": lpr.detect_scale,
                    "coarse_scale": lpr.coarse_scale},
            "lpr_frames_per_feed": [int(s.get("processed", 0)) for s in statuses],
            "passes": len(passes), "expected_passes_approx": round(expected, 1),
            "wrong_plates": sum(p.plate not in plates for _id, p in passes),
            "latency_best_frame_to_stream_s": {"p50": round(percentile(latencies, 0.5), 2),
                                               "p99": round(percentile(latencies, 0.99), 2)},
            "latency_best_frame_to_stored_s": None if stored is None else {
                "passes": len(stored), "p50": round(percentile(stored, 0.5), 2),
                "p99": round(percentile(stored, 0.99), 2)},
            "capture_cpu_s": round(cpu_used_s, 1), "capture_cores": round(cpu_used_s / args.seconds, 2),
            "cpu_s_per_pass": round(cpu_used_s / max(1, len(passes)), 2),
            "load_avg_before": round(load_before, 2), "load_avg_after": round(os.getloadavg()[0], 2)}


def capture_cpu_s(supervisor: Supervisor) -> float:
    """CPU seconds (user + system, all threads) the capture processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for supervised in supervisor.processes:
        if supervised.process is None or supervised.process.pid is None:
            continue
        try:
            fields = Path(f"/proc/{supervised.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime: fields 14 and 15 of stat
    return total


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def main() -> None:
    parser = argparse.ArgumentParser(description="capture benchmarks")
    parser.add_argument("mode", choices=("accuracy", "realtime"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--gap-s", type=float, default=3.0)
    parser.add_argument("--crossing-s", type=float, default=2.0)
    parser.add_argument("--plate-px", type=int, default=170)
    parser.add_argument("--detect-every", type=int, default=3)
    parser.add_argument("--plates", choices=("auto", "real", "rendered"), default="auto")
    parser.add_argument("--video", default="")
    parser.add_argument("--feeds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--warmup-s", type=float, default=15.0)
    parser.add_argument("--paddle-when", choices=("always", "uncertain"), default=None,
                        help="default: the engine's own (LprSettings)")
    parser.add_argument("--detect-scale", type=float, default=1.0)
    parser.add_argument("--coarse-scale", type=float, default=None, help="default: the engine's own (1: off)")
    parser.add_argument("--decoder", choices=("pyav", "opencv"), default="pyav", help="realtime: the frame reader")
    parser.add_argument("--decoder-nice", type=int, default=10, help="realtime: nice added to decoder threads")
    parser.add_argument("--max-lag-s", type=float, default=0.5, help="realtime, pyav: skip to a keyframe when late")
    parser.add_argument("--no-lpr-throttle", dest="lpr_throttle", action="store_false",
                        help="realtime: LPR on every gated frame, even while tracks are well read")
    parser.add_argument("--store", action="store_true",
                        help="realtime: run a passes writer on the bench database too; latency to the stored pass")
    parser.add_argument("--search-every-s", type=float, default=None,
                        help="realtime: LPR interval while something moves and no plate is tracked")
    args = parser.parse_args()
    result = accuracy(args) if args.mode == "accuracy" else realtime(args)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
