"""Fixtures for the video capture tests: one plate engine, and short generated feeds in temp folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np
import pytest
from redis import Redis

from checkpoint.capture.synthetic.feed import FeedTruth, generate_feed
from checkpoint.capture.synthetic.plates import SHARED_CROPS
from checkpoint.core.bus import READS_STREAM
from checkpoint.lpr import LprSettings, PlateEngine, make_plate_engine
from checkpoint.passes.record import CapturedPass

VIDEO_TEST_DB = 13  # a database of its own on the run's Redis, apart from `bus`'s


@pytest.fixture
def video_bus(servers: tuple[str, str]) -> Iterator[Redis]:
    """The same Redis server as `bus`, on a database of its own, flushed before and after."""
    url = urlsplit(servers[1])
    query = "&".join([part for part in url.query.split("&") if part and not part.startswith("db=")]
                     + [f"db={VIDEO_TEST_DB}"])  # the query's db wins over the path's
    client = Redis.from_url(urlunsplit(url._replace(query=query)), decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def plate_engine() -> PlateEngine:
    return make_plate_engine(LprSettings())


@pytest.fixture(scope="session")
def ten_vehicle_feed(tmp_path_factory: pytest.TempPathFactory) -> FeedTruth:
    """14 s of 1280x720 at 25 fps, ten vehicles with real plate crops, one entering every ~1.2 s."""
    if not (SHARED_CROPS / "labels.csv").is_file():
        pytest.skip(f"real plate crops not found at {SHARED_CROPS}")
    video = tmp_path_factory.mktemp("feeds") / "ten.mp4"
    return generate_feed(video, vehicles=10, size=(1280, 720), gap_s=1.2, crossing_s=1.6, seed=0, plates="real")


def write_plain_video(path: Path, frames: int, size: tuple[int, int] = (64, 48), fps: float = 25.0) -> Path:
    """A tiny video of changing grey frames (no plates), for reader tests."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    for index in range(frames):
        writer.write(np.full((size[1], size[0], 3), (index * 7) % 255, np.uint8))
    writer.release()
    return path


def write_panning_video(path: Path, frames: int, size: tuple[int, int] = (64, 48), fps: float = 25.0) -> Path:
    """A tiny video panning over a blurred texture: predicted frames, a keyframe every 12 (OpenCV's MPEG-4)."""
    texture = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (size[1], size[0] + frames, 3), np.uint8),
                               (5, 5), 0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    for index in range(frames):
        writer.write(np.ascontiguousarray(texture[:, index:index + size[0]]))
    writer.release()
    return path


def appended_passes(bus: Redis) -> list[CapturedPass]:
    """Every pass capture appended to `checkpoint:reads`, in order."""
    entries: list[tuple[str, dict[str, str]]] = bus.xrange(READS_STREAM)  # type: ignore[assignment]  # decoded
    return [CapturedPass.from_fields(fields) for _id, fields in entries]
