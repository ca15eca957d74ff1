"""Faults on the pass path: every pass a camera got 202 for is stored exactly once, whatever crashed.

Each case runs a few cameras pushing tens of passes (cameras retry a failed push with the same
record id until it is answered 202), injects its fault while they push, brings the system back
and counts rows in PostgreSQL per pass id.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.fault_clients import Plates
from bench.fault_system import System
from bench.waiting import wait_for
from checkpoint.passes.images import IMAGES_DIR
from tests.faults.drill import Traffic, assert_every_accepted_pass_stored_once, traffic

CAMERAS = 4
PASSES_EACH = 10


def test_no_fault_every_accepted_pass_stored_once(system: System, plates: Plates) -> None:
    sent = traffic(system, system.register_devices(CAMERAS), [plates.take(PASSES_EACH) for _ in range(CAMERAS)],
                   rate=10).start()
    sent.join()
    assert_every_accepted_pass_stored_once(system, sent)
    assert sent.statuses()[202] == sent.planned  # nothing failed, so nothing was retried


def test_api_killed_mid_traffic_every_accepted_pass_stored_once(system: System, plates: Plates) -> None:
    sent = traffic(system, system.register_devices(CAMERAS), [plates.take(PASSES_EACH) for _ in range(CAMERAS)],
                   rate=5).start()
    wait_for(lambda: len(sent.accepted()) >= 8, 30, "traffic before the fault")
    system.services["api"].kill9()
    wait_for(lambda: sent.statuses()[0] >= 2, 15, "pushes failing while the API is down")
    system.services["api"].start()
    sent.join()
    assert_every_accepted_pass_stored_once(system, sent)
    assert sent.statuses()[0] >= 2  # the fault was felt: the cameras retried


@pytest.mark.parametrize("fault", ["writer.mid_batch:2", "writer.after_commit:2"])
def test_writer_killed_mid_batch_every_accepted_pass_stored_once(system: System, plates: Plates, fault: str) -> None:
    """Killed in its 2nd batch (between its COPY rows, or after its commit before publishing) where the fault
    points exist; from outside, mid-traffic, on a tree without them."""
    writer = system.services["writer"]
    writer.restart(fault=fault)
    sent = traffic(system, system.register_devices(CAMERAS), [plates.take(PASSES_EACH) for _ in range(CAMERAS)],
                   rate=5).start()
    wait_for(lambda: len(sent.accepted()) >= 12, 30, "traffic before the fault")
    if writer.alive():
        writer.kill9()  # a tree without the fault point: the crash comes from outside, mid-traffic
    writer.start()
    sent.join()
    assert_every_accepted_pass_stored_once(system, sent)


def test_redis_killed_and_restarted_under_traffic_every_accepted_pass_stored_once(system: System,
                                                                                   plates: Plates) -> None:
    sent = traffic(system, system.register_devices(CAMERAS), [plates.take(PASSES_EACH) for _ in range(CAMERAS)],
                   rate=5).start()
    wait_for(lambda: len(sent.accepted()) >= 8, 30, "traffic before the fault")
    failed_before = _failures(sent)
    system.redis.kill()
    wait_for(lambda: _failures(sent) >= failed_before + 2, 15, "pushes failing while Redis is down")
    system.redis.start()
    system.redis.wait_up(30)
    sent.join()
    assert_every_accepted_pass_stored_once(system, sent)
    assert sum(sent.statuses().values()) > sent.planned  # some pushes failed and were retried


def test_postgres_immediate_stop_and_start_under_traffic_every_accepted_pass_stored_once(
        system: System, plates: Plates) -> None:
    sent = traffic(system, system.register_devices(CAMERAS), [plates.take(PASSES_EACH) for _ in range(CAMERAS)],
                   rate=5).start()
    wait_for(lambda: len(sent.accepted()) >= 8, 30, "traffic before the fault")
    answered_before = sum(sent.statuses().values())
    system.pg.stop_immediate()
    wait_for(lambda: sum(sent.statuses().values()) >= answered_before + 20, 15, "pushes while PostgreSQL is down")
    system.pg.start()
    sent.join()
    assert_every_accepted_pass_stored_once(system, sent)


def test_pass_image_folder_unwritable_every_pass_still_accepted_and_stored_once(system: System,
                                                                             plates: Plates) -> None:
    """A regular file where the checkpoint's image folder must be created (root ignores chmod): the pass
    comes first, so every push is accepted (202) and stored once, without its image; once the folder can
    be made again, new passes have their images on disk."""
    device = system.register_devices(1)[0]
    day_folder = system.data_dir / IMAGES_DIR / f"{datetime.now(UTC):%Y%m%d}"
    blocker = day_folder / device.checkpoint_code
    day_folder.mkdir(parents=True, exist_ok=True)
    assert not blocker.exists(), "the case needs a checkpoint no earlier case pushed to today"
    blocker.write_bytes(b"not a folder")
    blocked = traffic(system, [device], [plates.take(5)], rate=10).start()
    blocked.join()
    assert blocked.statuses()[202] == 5 and sum(blocked.statuses().values()) == 5
    without = assert_every_accepted_pass_stored_once(system, blocked)
    rows = system.query("SELECT plate_image_path FROM pass WHERE id = ANY(%s::uuid[])", list(without))
    assert len(rows) == 5 and all(row[0] is None for row in rows)
    blocker.unlink()
    restored = traffic(system, [device], [plates.take(5)], rate=10).start()
    restored.join()
    kept = assert_every_accepted_pass_stored_once(system, restored)
    rows = system.query("SELECT plate_image_path FROM pass WHERE id = ANY(%s::uuid[])", list(kept))
    assert len(rows) == 5 and all(row[0] and (system.data_dir / row[0]).is_file() for row in rows)


def _failures(sent: Traffic) -> int:
    return sum(count for status, count in sent.statuses().items() if status != 202)
