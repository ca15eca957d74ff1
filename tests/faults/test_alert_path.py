"""Faults on the alert path: every expected alert is stored once and reaches the dispatcher and the webhook.

Watched plates are mixed into each case's traffic; every watched plate passes once, so each of its
passes raises a new alert. Counts: hit_alert and watch_hit rows per (pass, watch) in PostgreSQL,
alert ids on `checkpoint:alerts`, on a dispatcher's SSE stream (which resumes with Last-Event-ID,
as EventSource does) and at a webhook receiver.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bench.fault_clients import AlertListener, Plates, WebhookReceiver
from bench.fault_system import System
from bench.waiting import wait_for
from checkpoint.watchlist.alert_images import ALERTS_DIR
from tests.faults.drill import (
    assert_every_accepted_pass_stored_once,
    assert_every_alert_delivered,
    assert_every_expected_alert_stored_once,
    mixed_plates,
    traffic,
)

CAMERAS = 4
PASSES_EACH = 10
WATCHED_EACH = 3


def test_no_fault_every_alert_stored_once_and_delivered(system: System, plates: Plates,
                                                        dispatcher: AlertListener, webhook: WebhookReceiver) -> None:
    lists, watched_plates = mixed_plates(plates, CAMERAS, PASSES_EACH, WATCHED_EACH)
    watched = system.watch_plates(watched_plates)
    sent = traffic(system, system.register_devices(CAMERAS), lists, rate=10).start()
    sent.join()
    accepted = assert_every_accepted_pass_stored_once(system, sent)
    alert_ids = set(assert_every_expected_alert_stored_once(system, accepted, watched).values())
    assert_every_alert_delivered(system, alert_ids, dispatcher, webhook)
    assert {alert_id: system.alerts_on_stream()[alert_id] for alert_id in alert_ids} == dict.fromkeys(alert_ids, 1)


def test_matcher_killed_every_expected_alert_stored_once(system: System, plates: Plates) -> None:
    lists, watched_plates = mixed_plates(plates, CAMERAS, PASSES_EACH, WATCHED_EACH)
    watched = system.watch_plates(watched_plates)
    sent = traffic(system, system.register_devices(CAMERAS), lists, rate=5).start()
    wait_for(lambda: len(system.alerts_stored(sent.accepted())) >= 2, 30, "alerts before the fault")
    system.services["matcher"].kill9()
    system.services["matcher"].start()
    sent.join()
    accepted = assert_every_accepted_pass_stored_once(system, sent)
    assert_every_expected_alert_stored_once(system, accepted, watched)


def test_matcher_killed_after_commit_every_alert_published(system: System, plates: Plates,
                                                           dispatcher: AlertListener, webhook: WebhookReceiver) -> None:
    lists, watched_plates = mixed_plates(plates, CAMERAS, PASSES_EACH, WATCHED_EACH)
    watched = system.watch_plates(watched_plates)
    matcher = system.services["matcher"]
    matcher.restart(fault="matcher.after_commit")
    sent = traffic(system, system.register_devices(CAMERAS), lists, rate=5).start()
    wait_for(lambda: not matcher.alive() or len(system.alerts_stored(sent.accepted())) >= 1, 30,
             "the matcher to die after its commit (or a first alert, on a tree without the fault point)")
    matcher.restart()  # killed from outside where the fault point does not exist yet
    sent.join()
    accepted = assert_every_accepted_pass_stored_once(system, sent)
    alert_ids = set(assert_every_expected_alert_stored_once(system, accepted, watched).values())
    assert_every_alert_delivered(system, alert_ids, dispatcher, webhook, timeout_s=10)


def test_redis_killed_and_restarted_every_expected_alert_stored_once_and_delivered(
        system: System, plates: Plates, dispatcher: AlertListener, webhook: WebhookReceiver) -> None:
    lists, watched_plates = mixed_plates(plates, CAMERAS, PASSES_EACH, WATCHED_EACH)
    watched = system.watch_plates(watched_plates)
    sent = traffic(system, system.register_devices(CAMERAS), lists, rate=5).start()
    wait_for(lambda: len(system.alerts_stored(sent.accepted())) >= 2, 30, "alerts before the fault")
    system.restart_redis()
    sent.join()
    accepted = assert_every_accepted_pass_stored_once(system, sent)
    alert_ids = set(assert_every_expected_alert_stored_once(system, accepted, watched).values())
    assert_every_alert_delivered(system, alert_ids, dispatcher, webhook)


def test_alerts_sse_reconnect_with_last_event_id_misses_nothing(system: System, plates: Plates,
                                                                 dispatcher: AlertListener) -> None:
    """A console away for a while reconnects with Last-Event-ID: it gets exactly the alerts it missed, once."""
    first_plates, second_plates = plates.take(4), plates.take(4)
    watched = system.watch_plates(first_plates + second_plates)
    devices = system.register_devices(2)
    first = traffic(system, devices[:1], [first_plates], rate=10).start()
    first.join()
    first_ids = set(assert_every_expected_alert_stored_once(system, first.accepted(), watched).values())
    wait_for(lambda: first_ids <= set(dispatcher.counts()), 30, "the first alerts on the live stream")
    dispatcher.pause()
    wait_for(lambda: not dispatcher.connected.is_set(), 10, "the console to go away")
    second = traffic(system, devices[1:], [second_plates], rate=10).start()
    second.join()
    second_ids = set(assert_every_expected_alert_stored_once(system, second.accepted(), watched).values())
    wait_for(lambda: second_ids <= set(system.alerts_on_stream()), 30, "the second alerts published")
    assert not second_ids & set(dispatcher.counts())  # it was away
    dispatcher.resume()
    wait_for(lambda: second_ids <= set(dispatcher.counts()), 30, "the missed alerts after reconnecting")
    seen = dispatcher.counts()
    assert {alert_id: seen[alert_id] for alert_id in first_ids | second_ids} == dict.fromkeys(first_ids | second_ids, 1)


def test_alert_image_folder_unwritable_every_alert_still_raised(system: System, plates: Plates,
                                                               webhook: WebhookReceiver) -> None:
    device = system.register_devices(1)[0]
    blocker = system.data_dir / ALERTS_DIR / f"{datetime.now(UTC):%Y%m%d}" / device.checkpoint_code
    assert not blocker.exists(), "the case needs a checkpoint no earlier alert came from today"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"not a folder")  # root ignores chmod: a file where the folder must be made
    try:
        own = plates.take(6)
        watched = system.watch_plates(own[::2])
        sent = traffic(system, [device], [own], rate=10).start()
        sent.join()
        accepted = assert_every_accepted_pass_stored_once(system, sent)
        alert_ids = set(assert_every_expected_alert_stored_once(system, accepted, watched, timeout_s=10).values())
        assert_every_alert_delivered(system, alert_ids, None, webhook, timeout_s=10)
    finally:
        blocker.unlink()


def test_watch_approved_and_withdrawn_during_redis_outage_in_force_once_redis_is_back(
        system: System, plates: Plates) -> None:
    approved_plate, withdrawn_plate = plates.take(2)
    withdrawn = system.watch_plates([withdrawn_plate])
    approved = {approved_plate: system.request_watch(approved_plate)}
    system.redis.kill()
    try:
        assert system.decide_watch(approved[approved_plate], "approve")[0] == 200
        assert system.decide_watch(withdrawn[withdrawn_plate], "withdraw")[0] == 200
    finally:
        system.redis.start()
        system.redis.wait_up(30)
    time.sleep(1.0)  # the guarantee itself: in force everywhere within 1 s of Redis being reachable again
    sent = traffic(system, system.register_devices(1), [[approved_plate, withdrawn_plate]], rate=10).start()
    sent.join()
    accepted = assert_every_accepted_pass_stored_once(system, sent)
    assert_every_expected_alert_stored_once(system, accepted, approved, timeout_s=10)  # and none for the withdrawn


@pytest.mark.parametrize("fault", ["relay.after_publish", pytest.param("relay.after_publish:3", marks=pytest.mark.xfail(
    reason="since one alert per plate (2026-12-08) the relay may publish fewer than 3 events in this drill, so the "
           "fault is never reached; the drill needs more plates (follow-up)", strict=False))])
def test_relay_killed_every_alert_delivered(system: System, plates: Plates, dispatcher: AlertListener,
                                            webhook: WebhookReceiver, fault: str) -> None:
    """The relay dies right after publishing (before marking what it published): a repeat at most, never a loss."""
    lists, watched_plates = mixed_plates(plates, 2, PASSES_EACH, WATCHED_EACH)
    watched = system.watch_plates(watched_plates)
    relay = system.services["relay"]
    relay.restart(fault=fault)
    sent = traffic(system, system.register_devices(2), lists, rate=5).start()
    wait_for(lambda: not relay.alive(), 30, f"the relay to die at {fault}")
    relay.start()
    sent.join()
    accepted = assert_every_accepted_pass_stored_once(system, sent)
    alert_ids = set(assert_every_expected_alert_stored_once(system, accepted, watched).values())
    assert_every_alert_delivered(system, alert_ids, dispatcher, webhook)
