"""The floor under live capture: what one 1080p frame costs to decode, by each way of decoding it.

    python -m bench.bench_decode --video /tmp/rt1080.mp4 [--frames 300]
    python -m bench.bench_decode --video /tmp/rt1080.mp4 --live 2 [--seconds 20]

CPU milliseconds per frame (process CPU time, all threads, so a loaded machine inflates wall time
but not this much), and wall milliseconds, for: FFmpeg's own CLI (`-threads 1 -f null -`, its
`-benchmark` utime), OpenCV read() (decode + sws_scale to BGR) and grab() (decode only), and PyAV
with the Y plane only, the whole frame to BGR, and FFmpeg's `skip_frame`. `--live N` instead runs N
live readers of each decoder with the motion gate and no LPR, and reports the cores they use.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import av
import cv2
import numpy as np

from checkpoint.capture.video.frames import i420_to_bgr, yuv420_planes
from checkpoint.capture.video.motion import MotionGate
from checkpoint.capture.video.reader import Decoder, FrameReader


def _timed(frames: int, step: Callable[[], bool]) -> dict[str, float]:
    cpu, wall, done = time.process_time(), time.monotonic(), 0
    while done < frames and step():
        done += 1
    cpu_ms = (time.process_time() - cpu) * 1000 / max(done, 1)
    wall_ms = (time.monotonic() - wall) * 1000 / max(done, 1)
    return {"frames": done, "cpu_ms": round(cpu_ms, 2), "wall_ms": round(wall_ms, 2)}


def ffmpeg_cli(video: str, frames: int, threads: int, skip: str | None = None) -> dict[str, float]:
    """FFmpeg decoding to the null muxer; utime from `-benchmark`."""
    command = ["ffmpeg", "-nostdin", "-benchmark", "-threads", str(threads)]
    if skip:
        command += ["-skip_frame", skip]
    command += ["-i", video, "-frames:v", str(frames), "-f", "null", "-"]
    started = time.monotonic()
    log = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    wall_s = time.monotonic() - started
    utime = re.search(r"utime=([\d.]+)s stime=([\d.]+)s", log)
    decoded = re.findall(r"frame=\s*(\d+)", log)
    count = int(decoded[-1]) if decoded else frames
    cpu_s = float(utime.group(1)) + float(utime.group(2)) if utime else float("nan")
    return {"frames": count, "cpu_ms": round(cpu_s * 1000 / max(count, 1), 2),
            "wall_ms": round(wall_s * 1000 / max(count, 1), 2)}


def opencv(video: str, frames: int, *, grab_only: bool, threads: int | None) -> dict[str, float]:
    if threads is not None:
        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = f"threads;{threads}"
    capture = cv2.VideoCapture(video, cv2.CAP_FFMPEG)
    os.environ.pop("OPENCV_FFMPEG_CAPTURE_OPTIONS", None)
    try:
        return _timed(frames, (lambda: bool(capture.grab())) if grab_only else (lambda: bool(capture.read()[0])))
    finally:
        capture.release()


def pyav(video: str, frames: int, *, threads: int, convert: str, skip: Any = None) -> dict[str, float]:
    """PyAV decoding; `convert`: none (the Y plane as an array), gate (Y plane subsampled), bgr-cv (I420
    to BGR with OpenCV), bgr-sws (FFmpeg's sws_scale through to_ndarray)."""
    container = av.open(video)
    stream = container.streams.video[0]
    stream.codec_context.thread_count = threads
    stream.thread_type = "SLICE" if threads > 1 else "NONE"
    if skip:
        stream.codec_context.skip_frame = skip
    decoded = container.decode(stream)
    sink: list[Any] = []

    def step() -> bool:
        frame = next(decoded, None)
        if frame is None:
            return False
        planes = yuv420_planes(frame)
        if convert == "gate":
            sink[:] = [cv2.resize(planes[0][:, 480:1440], (160, 180), interpolation=cv2.INTER_AREA)]
        elif convert == "bgr-cv":
            sink[:] = [i420_to_bgr(planes)]
        elif convert == "bgr-sws":
            sink[:] = [frame.to_ndarray(format="bgr24")]
        else:
            sink[:] = [planes[0]]
        return True

    try:
        return _timed(frames, step)
    finally:
        container.close()


def live_readers(video: str, feeds: int, seconds: float, decoder: Decoder) -> dict[str, Any]:
    """N live readers of the file (paced, looped) with the lane's motion gate and no LPR: the decoding side's
    own CPU, as cores (process CPU seconds per second), and the frames it decoded and skipped."""
    readers = [FrameReader(video, loop=True, decoder=decoder, decoder_nice=0).start() for _ in range(feeds)]
    stop = threading.Event()
    gated = [0] * feeds

    def consume(slot: int) -> None:
        gate = MotionGate()
        while not stop.is_set():
            frame = readers[slot].get(timeout_s=0.2)
            if frame is not None:
                height, width = frame.shape
                gated[slot] += gate.moving_frame(frame, (width // 4, 0, width * 3 // 4, height), frame.at.timestamp())

    threads = [threading.Thread(target=consume, args=(slot,), daemon=True) for slot in range(feeds)]
    for thread in threads:
        thread.start()
    time.sleep(3.0)  # open and settle
    decoded_before = [reader.decoded for reader in readers]
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cores = (time.process_time() - cpu) / (time.monotonic() - wall)
    decoded = [reader.decoded - before for reader, before in zip(readers, decoded_before, strict=True)]
    stop.set()
    for reader in readers:
        reader.close()
    return {"decoder": decoder, "feeds": feeds, "cores": round(cores, 2), "cores_per_feed": round(cores / feeds, 3),
            "decoded_fps_per_feed": [round(n / seconds, 1) for n in decoded],
            "skipped": [reader.skipped for reader in readers]}


def main() -> None:
    parser = argparse.ArgumentParser(description="per-frame decoding cost")
    parser.add_argument("--video", default="/tmp/rt1080.mp4")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--live", type=int, default=0, help="instead: N live readers + motion gate, each decoder")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.live:
        load = os.getloadavg()[0]
        runs = [live_readers(args.video, args.live, args.seconds, decoder) for decoder in ("opencv", "pyav")]
        print(json.dumps({"bench": "capture.decode.live", "video": args.video, "runs": runs,
                          "load_avg_before": round(load, 2), "load_avg_after": round(os.getloadavg()[0], 2)}))
        return
    cv2.setNumThreads(1)
    load_before = os.getloadavg()
    video, n = args.video, args.frames
    with av.open(video) as probe:
        codec = probe.streams.video[0].codec_context.name
    results: dict[str, Any] = {
        "ffmpeg -threads 1": ffmpeg_cli(video, n, 1),
        "ffmpeg -threads 1 -skip_frame noref": ffmpeg_cli(video, n, 1, "noref"),
        "ffmpeg -threads 1 -skip_frame nokey": ffmpeg_cli(video, n, 1, "nokey"),
        "opencv read (default threads)": opencv(video, n, grab_only=False, threads=None),
        "opencv read threads=1": opencv(video, n, grab_only=False, threads=1),
        "opencv grab threads=1": opencv(video, n, grab_only=True, threads=1),
        "pyav Y plane threads=1": pyav(video, n, threads=1, convert="none"),
        "pyav Y plane + lane gate threads=1": pyav(video, n, threads=1, convert="gate"),
        "pyav Y plane threads=2 (slice)": pyav(video, n, threads=2, convert="none"),
        "pyav I420->BGR (OpenCV) threads=1": pyav(video, n, threads=1, convert="bgr-cv"),
        "pyav to_ndarray bgr24 (sws) threads=1": pyav(video, n, threads=1, convert="bgr-sws"),
        "pyav skip_frame NONREF threads=1": pyav(video, n, threads=1, convert="none", skip="NONREF"),
        "pyav skip_frame NONKEY threads=1": pyav(video, n, threads=1, convert="none", skip="NONKEY"),
    }
    print(json.dumps({"bench": "capture.decode", "video": video, "codec": codec, "frames": n,
                      "load_avg_before": [round(x, 2) for x in load_before],
                      "load_avg_after": [round(x, 2) for x in os.getloadavg()], "per_frame": results,
                      "numpy": np.__version__, "av": av.__version__}, ensure_ascii=False))


if __name__ == "__main__":
    main()
