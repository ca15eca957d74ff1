"""Peak memory of one plate worker by input size: 1080p, 12-megapixel and 12000x12000 JPEGs.

Each size runs in a fresh process (peak RSS is per process): build the engine, decode the JPEG
from bytes as the snapshot worker does, read it three times, report the peak (VmHWM) and
whether the plate was still read. The picture is a real CCPD scene scaled to fill the frame
(its plate grows with it), so a reduced decode must still leave a readable plate.

    python -m bench.bench_lpr_memory
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from checkpoint.lpr import ImageError, LprSettings, make_plate_engine
from checkpoint.lpr.evaluate import load_labels
from checkpoint.lpr.images import decode_image, load_image

SCENES = next((folder / "shared" / "data" for folder in Path(__file__).resolve().parents
               if (folder / "shared" / "data").is_dir()), Path("/nonexistent")) / "plates-dev" / "ccpd_scenes"
SIZES = {"1080p": (1920, 1080), "12MP": (4000, 3000), "144MP": (12000, 12000)}


def scene_jpeg(width: int, height: int) -> tuple[bytes, str]:
    """The first CCPD scene scaled to the frame's height, centred on a grey frame, as JPEG bytes."""
    row = load_labels(SCENES)[0]
    scene = load_image(SCENES / row.file)
    scale = height / scene.shape[0]
    scaled = cv2.resize(scene, (min(width, int(scene.shape[1] * scale)), height))
    frame = np.full((height, width, 3), 110, dtype=np.uint8)
    left = (width - scaled.shape[1]) // 2
    frame[:, left : left + scaled.shape[1]] = scaled
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return encoded.tobytes(), row.plate


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def one_size(name: str, jpeg: str, plate: str, settings_json: str,
             queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    width, height = SIZES[name]
    data = Path(jpeg).read_bytes()
    engine = make_plate_engine(LprSettings.model_validate_json(settings_json))
    before = peak_rss_mb()
    texts: list[str] = []
    started = time.perf_counter()
    try:
        for _ in range(3):
            texts = [read.text for read in engine.read(decode_image(data))]
    except ImageError as exc:  # an engine that refuses the size says so
        queue.put({"size": name, "pixels": f"{width}x{height}", "refused": str(exc)[-80:],
                   "peak_rss_mb": peak_rss_mb()})
        return
    queue.put({"size": name, "pixels": f"{width}x{height}", "jpeg_mb": round(len(data) / 2**20, 1),
               "peak_rss_mb_after_engine": before, "peak_rss_mb": peak_rss_mb(), "plate_read": plate in texts,
               "max_side_px": engine.settings.max_side_px,  # type: ignore[attr-defined]
               "ms_per_read": round((time.perf_counter() - started) * 1000 / 3, 1)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-side-px", type=int, help="LprSettings.max_side_px (default: the setting's)")
    args = parser.parse_args()
    settings = LprSettings() if args.max_side_px is None else LprSettings(max_side_px=args.max_side_px)
    context = multiprocessing.get_context("spawn")
    folder = Path(tempfile.mkdtemp(prefix="lpr-memory-"))
    for name, (width, height) in SIZES.items():  # made here: a 144 MP frame alone is 432 MB
        data, plate = scene_jpeg(width, height)
        (folder / f"{name}.jpg").write_bytes(data)
    for name in SIZES:
        queue = context.Queue()
        process = context.Process(target=one_size, args=(name, str(folder / f"{name}.jpg"), plate,
                                                                settings.model_dump_json(), queue))
        process.start()
        print(json.dumps(queue.get(timeout=600)), flush=True)
        process.join()


if __name__ == "__main__":
    main()
