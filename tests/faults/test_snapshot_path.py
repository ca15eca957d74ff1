"""A snapshot LPR worker killed with -9 mid-work: every pushed snapshot is read once, its pass stored once.

Real CCPD photos are pushed by a snapshot camera (retrying until 202 with the same snapshot_ref);
`checkpoint capture snapshots` reads them, is killed with -9 (its LPR process with it) after its
first pass, and is started again; what it left pending is claimed back after the claim idle time
(30 s). Which photos give a pass is decided here with the same engine and the same rule (a valid
plate among the reads), so the count is exact: one row per readable photo, none for the others.
"""

from __future__ import annotations

import csv
import http.client
import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from bench.fault_system import System
from bench.waiting import wait_for
from checkpoint.lpr import PlateEngine, is_valid_plate, make_plate_engine, normalize_plate

SCENES = next((folder / "shared" / "data" / "plates-dev" / "ccpd_scenes" for folder in Path(__file__).resolve().parents
               if (folder / "shared" / "data" / "plates-dev" / "ccpd_scenes").is_dir()), Path("/nonexistent"))
PHOTOS = 12


def photos(count: int) -> list[tuple[str, bytes]]:
    labels = SCENES / "labels.csv"
    if not labels.exists():
        pytest.skip(f"no real plate photos at {SCENES}")
    with labels.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    chosen: dict[str, bytes] = {}
    for row in rows:  # distinct plates, so the 60 s repeat window drops none of them
        chosen.setdefault(row["plate"], (SCENES / row["file"]).read_bytes())
        if len(chosen) == count:
            break
    return list(chosen.items())


def readable(engine: PlateEngine, photo: bytes) -> bool:
    """Whether the worker's rule gives this photo a pass: some read is a valid plate."""
    image: Any = cv2.imdecode(np.frombuffer(photo, dtype=np.uint8), cv2.IMREAD_COLOR)
    return any(is_valid_plate(normalize_plate(read.text)) for read in engine.read(image))


def push_snapshot(port: int, key: str, ref: str, photo: bytes) -> str:
    """Push until answered 202, same snapshot_ref on every try; returns the snapshot id."""
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("POST", f"/api/v1/ingest/snapshots?lane=1&direction=in&snapshot_ref={ref}", body=photo,
                         headers={"X-Device-Key": key, "Content-Type": "image/jpeg"})
            response = conn.getresponse()
            raw = response.read()
            if response.status == 202:
                return str(json.loads(raw)["snapshot_id"])
            assert response.status >= 500, (response.status, raw[:300])
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.2)


def test_snapshot_worker_killed_every_snapshot_read_once(system: System) -> None:
    device = system.register_devices(1, kind="snapshot", lanes=1)[0]
    chosen = photos(PHOTOS)
    ids = [push_snapshot(system.port, device.key, f"drill-{number}", photo) for number, (_plate, photo) in
           enumerate(chosen)]
    engine = make_plate_engine()
    expected = {snapshot_id for snapshot_id, (_plate, photo) in zip(ids, chosen, strict=True)
                if readable(engine, photo)}
    assert expected, "no photo is readable: the case would prove nothing"
    snapshots = system.services["snapshots"]
    snapshots.start()
    try:
        wait_for(lambda: system.passes_stored(ids), 120, "a first pass read from the snapshots")
        snapshots.kill9()  # the pool and its LPR process, as a crash
        snapshots.start()
        wait_for(lambda: set(system.passes_stored(ids)) >= expected, 120,
                 "every readable snapshot's pass (those left pending are claimed after 30 s)")
        wait_for(lambda: _lpr_drained(system), 60, "the LPR group to have acked every snapshot")
        system.wait_drained()
        assert system.passes_stored(ids) == dict.fromkeys(expected, 1)
    finally:
        snapshots.stop()


def _lpr_drained(system: System) -> bool:
    client = system.bus()
    try:
        groups: Any = client.xinfo_groups("checkpoint:snapshots")
        return any(group["name"] == "capture-lpr" and not group["pending"] and not group.get("lag")
                   for group in groups)
    finally:
        client.close()
