"""Plate-reader speed on 1080p frames: one-core latency, recognition per plate, memory, throughput.

Frames (--scenes): `road` (the default since issue 18) fills each 1920x1080 frame edge to edge
with three real CCPD street and parking scenes side by side (three cars, three plates, real
surroundings everywhere), with JPEG decoding of the frame timed beside; `grey` is the earlier
frame: one scene on a flat grey canvas. Prints one JSON line.

    python -m bench.bench_lpr --frames 100 --workers 2 --reference
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from checkpoint.lpr import LprSettings, make_plate_engine
from checkpoint.lpr.evaluate import MATCH_IOU, iou, load_labels
from checkpoint.lpr.images import decode_image, load_image
from checkpoint.lpr.synthetic import double_row_from_single

SCENES = next((folder / "shared" / "data" for folder in Path(__file__).resolve().parents
               if (folder / "shared" / "data").is_dir()), Path("/nonexistent")) / "plates-dev" / "ccpd_scenes"
SCENES_PER_ROAD_FRAME = 3
FRAME_W, FRAME_H = 1920, 1080

Frame = npt.NDArray[np.uint8]


def make_frames(count: int, shrink: float = 1.0) -> list[Frame]:
    """1080p frames, each holding one CCPD scene (cropped to 1080 rows around its plate)."""
    return [frame for frame, _ in framed_scenes(count, shrink)]


def framed_scenes(count: int, shrink: float = 1.0) -> list[tuple[Frame, tuple[float, float, float, float]]]:
    """1080p frames holding one CCPD scene each, shrunk by `shrink`, with the plate's box in the frame."""
    framed: list[tuple[Frame, tuple[float, float, float, float]]] = []
    for row in load_labels(SCENES)[:count]:
        assert row.box is not None
        scene = load_image(SCENES / row.file)
        box = tuple(v * shrink for v in row.box)
        if shrink != 1.0:
            scene = cv2.resize(scene, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)  # type: ignore[assignment]
        top = 0
        if scene.shape[0] > FRAME_H:
            top = int(min(max(0, (box[1] + box[3]) / 2 - FRAME_H / 2), scene.shape[0] - FRAME_H))
        part = scene[top : top + FRAME_H, :FRAME_W]
        frame = np.full((FRAME_H, FRAME_W, 3), 110, dtype=np.uint8)
        left = (FRAME_W - part.shape[1]) // 2
        frame[: part.shape[0], left : left + part.shape[1]] = part
        framed.append((frame, (box[0] + left, box[1] - top, box[2] + left, box[3] - top)))
    return framed


def road_frames(count: int) -> list[tuple[Frame, list[str]]]:
    """1080p frames of three real scenes side by side (each 640 wide, cut around its plate), and their plates."""
    rows = load_labels(SCENES)
    width = FRAME_W // SCENES_PER_ROAD_FRAME
    frames: list[tuple[Frame, list[str]]] = []
    for index in range(count):
        parts: list[Frame] = []
        plates: list[str] = []
        for offset in range(SCENES_PER_ROAD_FRAME):
            row = rows[(index * SCENES_PER_ROAD_FRAME + offset) % len(rows)]
            assert row.box is not None
            scene = load_image(SCENES / row.file)
            scale = FRAME_H / scene.shape[0]
            size = (max(width, round(scene.shape[1] * scale)), FRAME_H)
            scaled = cv2.resize(scene, size, interpolation=cv2.INTER_AREA)
            centre = (row.box[0] + row.box[2]) / 2 * scaled.shape[1] / scene.shape[1]
            left = int(min(max(0.0, centre - width / 2), scaled.shape[1] - width))
            parts.append(np.ascontiguousarray(scaled[:, left : left + width]))
            plates.append(row.plate)
        frames.append((np.hstack(parts), plates))
    return frames


def road_scene_figures(framed: list[tuple[Frame, list[str]]]) -> dict[str, float]:
    """JPEG decoding per frame (as a pushed snapshot is decoded), and how many of the plates were read exactly."""
    engine = make_plate_engine(LprSettings(intra_op_threads=1))
    decode_ms: list[float] = []
    exact = plates = 0
    for frame, expected in framed:
        ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        data = encoded.tobytes()
        started = time.thread_time()
        decoded = decode_image(data)
        decode_ms.append((time.thread_time() - started) * 1000)
        texts = {read.text for read in engine.read(decoded)}
        plates += len(expected)
        exact += sum(plate in texts for plate in expected)
    return {
        "jpeg_decode_cpu_ms_median": round(statistics.median(decode_ms), 1),
        "plates": plates,
        "plates_read_exactly": round(exact / max(plates, 1), 4),
    }


def detection_recall(settings: LprSettings, count: int, shrinks: list[float]) -> dict[str, dict[str, float]]:
    """Detection recall and CPU ms per 1080p frame, coarse-to-fine against full resolution, by plate size."""
    engines = {
        "coarse_to_fine": make_plate_engine(settings),
        "full_resolution": make_plate_engine(settings.model_copy(update={"coarse_scale": 1.0})),
    }
    result: dict[str, dict[str, float]] = {}
    for shrink in shrinks:
        framed = framed_scenes(count, shrink)
        figures: dict[str, float] = {"plate_width_px_median": round(statistics.median(b[2] - b[0] for _, b in framed))}
        for name, engine in engines.items():
            found, cpu_ms = 0, []
            for frame, box in framed:
                started = time.thread_time()
                detections = engine.detect(frame)
                cpu_ms.append((time.thread_time() - started) * 1000)
                found += any(iou(detection.box, box) >= MATCH_IOU for detection in detections)
            figures[f"{name}_recall"] = round(found / len(framed), 4)
            figures[f"{name}_cpu_ms_median"] = round(statistics.median(cpu_ms), 1)
        result[f"shrink_{shrink}"] = figures
    return result


def latency(frames: list[Frame], settings: LprSettings, roi: tuple[int, int, int, int] | None) -> dict[str, float]:
    """Median and p99 ms per frame, and median ms per plate (recognition only), on one process.

    Wall time and this thread's CPU time are both given: on a shared machine the CPU time is
    the less disturbed figure (it still grows when other processes share the core's caches).
    """
    engine = make_plate_engine(settings)
    engine.read(frames[0], roi)  # warm-up
    frame_ms: list[float] = []
    frame_cpu_ms: list[float] = []
    plate_ms: list[float] = []
    plate_cpu_ms: list[float] = []
    for frame in frames:
        started, started_cpu = time.perf_counter(), time.thread_time()
        detections = engine.detect(frame, roi)
        for detection in detections:
            plate_started, plate_started_cpu = time.perf_counter(), time.thread_time()
            engine.read_corners(frame, detection.corners, detection.score)
            plate_ms.append((time.perf_counter() - plate_started) * 1000)
            plate_cpu_ms.append((time.thread_time() - plate_started_cpu) * 1000)
        frame_ms.append((time.perf_counter() - started) * 1000)
        frame_cpu_ms.append((time.thread_time() - started_cpu) * 1000)
    frame_ms.sort()
    return {
        "frame_ms_median": round(statistics.median(frame_ms), 1),
        "frame_ms_p99": round(frame_ms[min(len(frame_ms) - 1, int(len(frame_ms) * 0.99))], 1),
        "frame_cpu_ms_median": round(statistics.median(frame_cpu_ms), 1),
        "plate_ms_median": round(statistics.median(plate_ms), 1) if plate_ms else 0.0,
        "plate_cpu_ms_median": round(statistics.median(plate_cpu_ms), 1) if plate_cpu_ms else 0.0,
    }


_worker_engine = None


def _init_worker(settings_json: str) -> None:
    global _worker_engine
    _worker_engine = make_plate_engine(LprSettings.model_validate_json(settings_json))


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _read_frame(frame: Frame) -> tuple[int, int]:
    assert _worker_engine is not None
    plates = len(_worker_engine.read(frame))
    return plates, peak_rss_kb()


def throughput(frames: list[Frame], settings: LprSettings, workers: int, rounds: int) -> dict[str, float]:
    """Frames per second with one engine per worker process; peak resident memory per worker."""
    context = multiprocessing.get_context("spawn")  # workers hold only their engine, as in capture
    with context.Pool(workers, initializer=_init_worker, initargs=(settings.model_dump_json(),)) as pool:
        pool.map(_read_frame, frames[:workers])  # warm-up
        started = time.perf_counter()
        results = pool.map(_read_frame, frames * rounds, chunksize=1)
        elapsed = time.perf_counter() - started
    return {
        "workers": workers,
        "frames_per_s": round(len(results) / elapsed, 1),
        "worker_rss_mb_max": round(max(rss for _, rss in results) / 1024, 1),
    }


def double_row_accuracy(settings: LprSettings, count: int) -> float:
    """Exact accuracy on double-row plates composed from the first `count` real crops (synthetic)."""
    crops = SCENES.parent / "crops"
    engine = make_plate_engine(settings)
    correct = 0
    rows = load_labels(crops)[:count]
    for row in rows:
        plate = double_row_from_single(load_image(crops / row.file))
        height, width = plate.shape[:2]
        corners = ((0.0, 0.0), (width - 1.0, 0.0), (width - 1.0, height - 1.0), (0.0, height - 1.0))
        read = engine.read_corners(plate, corners, 1.0)
        correct += read is not None and read.text == row.plate
    return round(correct / max(len(rows), 1), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--paddle-when", choices=["always", "uncertain"], default=LprSettings().paddle_when)
    parser.add_argument("--detect-scale", type=float, default=1.0)
    parser.add_argument("--double-row", type=int, default=0, help="also read this many synthetic double-row plates")
    parser.add_argument("--coarse-scale", type=float, default=LprSettings().coarse_scale, help="1: no coarse pass")
    parser.add_argument(
        "--recall-shrinks", default="", help="e.g. 1,0.4,0.3: detection recall on scenes shrunk so (all 160 scenes)"
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also time the previous default in this run: full-resolution detection, PP-OCRv6 on every plate",
    )
    parser.add_argument("--scenes", choices=["road", "grey"], default="road",
                        help="road: three real scenes fill each frame; grey: one scene on a flat grey canvas")
    args = parser.parse_args()
    road = road_frames(args.frames) if args.scenes == "road" else []
    frames = [frame for frame, _ in road] if road else make_frames(args.frames)
    settings = LprSettings(
        intra_op_threads=1,
        paddle_when=args.paddle_when,
        detect_scale=args.detect_scale,
        coarse_scale=args.coarse_scale,
    )
    centre_roi = (FRAME_W // 4, 0, FRAME_W * 3 // 4, FRAME_H)  # the lane: a 960x1080 band
    result: dict[str, object] = {
        "frames": len(frames),
        "scenes": args.scenes,
        "frame_size": f"{FRAME_W}x{FRAME_H}",
        "paddle_when": args.paddle_when,
        "detect_scale": args.detect_scale,
        "coarse_scale": args.coarse_scale,
        "load_average_1m_start": round(os.getloadavg()[0], 2),
        "one_core_full_frame": latency(frames, settings, None),
    }
    if road:
        result["road_scenes"] = road_scene_figures(road)
    if args.reference:
        reference = settings.model_copy(update={"coarse_scale": 1.0, "paddle_when": "always"})
        result["reference_full_resolution_paddle_always"] = latency(frames, reference, None)
    result["one_core_lane_roi_960x1080"] = latency(frames, settings, centre_roi)
    result["rss_mb_single_process_with_frames"] = round(peak_rss_kb() / 1024, 1)
    if args.recall_shrinks:
        shrinks = [float(value) for value in args.recall_shrinks.split(",")]
        result["detection_recall_by_size"] = detection_recall(settings, 160, shrinks)
    if args.double_row:
        result["synthetic_double_row_exact_accuracy"] = double_row_accuracy(settings, args.double_row)
    result["throughput"] = throughput(frames, settings, args.workers, args.rounds)
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
