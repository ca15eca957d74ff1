"""Traffic for one case, and the exact-count assertions every case ends with."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from bench.fault_clients import AlertListener, Camera, PlannedPass, Plates, WebhookReceiver, planned, plate_crop_b64
from bench.fault_system import DeviceKey, System
from bench.waiting import wait_for

IMAGE = plate_crop_b64()


@dataclass
class Traffic:
    """Cameras pushing their plates; `planned` is how many records they will push in all."""

    cameras: list[Camera]
    planned: int
    abort: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Traffic:
        for camera in self.cameras:
            camera.start()
        return self

    def join(self, timeout_s: float = 60.0) -> None:
        """Wait until every camera has pushed all its records (retries included)."""
        wait_for(lambda: not any(camera.is_alive() for camera in self.cameras), timeout_s,
                 "every camera to have its records accepted")

    def accepted(self) -> dict[str, PlannedPass]:
        found: dict[str, PlannedPass] = {}
        for camera in self.cameras:
            with camera.lock:
                found.update(camera.accepted)
        return found

    def statuses(self) -> Counter[int]:
        total: Counter[int] = Counter()
        for camera in self.cameras:
            with camera.lock:
                total.update(camera.statuses)
        return total

    def stop(self) -> None:
        for camera in self.cameras:
            camera.abort.set()


def traffic(system: System, devices: list[DeviceKey], plates: list[list[str]], rate: float = 5.0,
            image: bool = True) -> Traffic:
    """One camera per device pushing its list of plates at `rate` a second each (not started)."""
    cameras = [Camera(system.port, device.code, device.key, planned(device.code, iter(own)), rate,
                      image_b64=IMAGE if image else None)
               for device, own in zip(devices, plates, strict=True)]
    return Traffic(cameras, sum(len(own) for own in plates))


def assert_every_accepted_pass_stored_once(system: System, sent: Traffic) -> dict[str, PlannedPass]:
    """Every record was accepted in the end (the cameras retry) and each is one row in `pass`."""
    accepted = sent.accepted()
    assert len(accepted) == sent.planned, f"{sent.planned - len(accepted)} records never accepted"
    wait_for(lambda: len(system.passes_stored(accepted)) == len(accepted), 60, "every accepted pass to be stored")
    system.wait_drained()
    stored = system.passes_stored(accepted)
    assert {pass_id for pass_id, rows in stored.items() if rows != 1} == set(), "passes stored more than once"
    assert set(stored) == set(accepted), "accepted passes missing"
    return accepted


def expected_alerts(accepted: dict[str, PlannedPass], watched: dict[str, int]) -> set[tuple[str, int]]:
    """(pass id, watch id) of every accepted pass of a watched plate (each plate passes once: a new alert)."""
    return {(pass_id, watched[record.plate]) for pass_id, record in accepted.items() if record.plate in watched}


def assert_every_expected_alert_stored_once(system: System, accepted: dict[str, PlannedPass],
                                            watched: dict[str, int], timeout_s: float = 60) -> dict[str, int]:
    """One hit and one alert per (pass, watch) expected, none other; returns pass id -> alert id."""
    expected = expected_alerts(accepted, watched)
    assert expected, "the case sent no watched plate"
    wait_for(lambda: len(system.alerts_stored(accepted)) >= len(expected), timeout_s,
             "every expected alert to be stored")
    system.wait_drained()
    want = Counter(dict.fromkeys(expected, 1))
    alerts, hits = system.alerts_stored(accepted), system.hits_stored(accepted)
    assert alerts == want, f"alerts per (pass, watch): {dict(alerts)}, expected {dict(want)}"
    assert hits == want, f"hits per (pass, watch): {dict(hits)}, expected {dict(want)}"
    return system.alert_ids(accepted)


def assert_every_alert_delivered(system: System, alert_ids: set[int], listener: AlertListener | None,
                                 webhook: WebhookReceiver | None, timeout_s: float = 30) -> None:
    """Each alert on `checkpoint:alerts`, on the dispatcher's live stream and at the webhook, at least once."""
    wait_for(lambda: alert_ids <= set(system.alerts_on_stream()), timeout_s, "every alert on checkpoint:alerts")
    if listener is not None:
        wait_for(lambda: alert_ids <= set(listener.counts()), timeout_s,
                 "every alert on the dispatcher's live stream")
    if webhook is not None:
        wait_for(lambda: alert_ids <= set(webhook.counts()), timeout_s, "every alert delivered to the webhook")


def mixed_plates(plates: Plates, cameras: int, each: int, watched_each: int) -> tuple[list[list[str]], list[str]]:
    """Each camera's plates, `watched_each` of them (spread through its list) to be watched; and those."""
    lists, watched = [], []
    for _ in range(cameras):
        own = plates.take(each)
        chosen = own[1::max(1, each // watched_each)][:watched_each]
        lists.append(own)
        watched += chosen
    return lists, watched
