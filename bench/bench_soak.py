"""The Targets soak: cameras at the design rate, watched plates among them, a fault every N seconds.

    python -m bench.bench_soak --minutes 30 --rate 480 --watched 1000 --fault-every-s 120

A system of its own (bench/fault_system.py: private PostgreSQL and Redis, the API, writer, matcher
and the alert relay, each a process). 120 smart cameras (one a checkpoint,
4 lanes) push `rate` passes a second in all over HTTP, each push retried with the same record id
until answered 202, as cameras do. `watched` plates are registered and approved through the API
first; each passes once, at a random moment of the run, so each should raise one new alert. One
dispatcher holds the SSE stream (resuming with Last-Event-ID) and a webhook receiver stands in for
the provincial platform. Every `fault-every-s` seconds the next fault of the rotation is injected:
kill -9 of the writer, the matcher, the API (and the relay), a Redis kill -9 and restart, a
PostgreSQL immediate stop and start.

At the end, after the cameras' last retries and the workers have drained, exact reconciliation:
passes accepted (answered 202) vs stored (lost, doubled), alerts expected vs stored (doubled) vs on
`checkpoint:alerts` vs seen on SSE vs at the webhook, the pass -> SSE latency (the pass's captured
time to the event's arrival) p50/p99 outside fault windows (a window is the fault and the
`exclude-s` after it), and memory every 10 s: Redis used_memory and each process's RSS. Prints one
JSON line; `--csv` also writes the memory samples.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import redis as redis_lib

from bench.fault_clients import AlertListener, Camera, PlannedPass, Plates, WebhookReceiver, plate_crop_b64
from bench.fault_system import System
from bench.waiting import wait_for

FAULTS = ("writer", "matcher", "api", "redis", "postgres", "relay")
SAMPLE_EVERY_S = 10.0


@dataclass
class WatchedDraw:
    """Hands a watched plate to a camera with probability `chance` a pass, each plate once (thread-safe)."""

    plates: list[str]
    chance: float
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def draw(self) -> str | None:
        with self.lock:
            if self.plates and self.rng.random() < self.chance:
                return self.plates.pop()
        return None


def camera_plan(code: str, draw: WatchedDraw, lanes: int) -> Iterator[PlannedPass]:
    """Endless records: mostly unwatched plates (another province, so never a watched one), some watched."""
    rng = random.Random(code)
    number = 0
    while True:
        number += 1
        plate = draw.draw() or f"湘{rng.choice('ABCDEFGHJK')}{rng.randrange(100000):05d}"
        yield PlannedPass(f"{code}-{number}", plate, 1 + number % lanes, datetime.now(UTC))


@dataclass
class FaultWindow:
    fault: str
    started: float  # time.time()
    ended: float = 0.0
    error: str | None = None


def inject(system: System, fault: str) -> FaultWindow:
    """One fault, and the system brought back (the process started again, the server restarted)."""
    window = FaultWindow(fault, time.time())
    try:
        if fault == "redis":
            system.restart_redis()
        elif fault == "postgres":
            system.restart_postgres()
        else:
            service = system.services[fault]
            service.kill9()
            service.start()
            if fault == "api":
                system.wait_api()
    except Exception as exc:  # noqa: BLE001 (recorded in the result; the soak goes on)
        window.error = repr(exc)[:300]
    window.ended = time.time()
    return window


def postgres_processes(system: System) -> list[psutil.Process]:
    try:
        pid = int((system.pg.pgdata / "postmaster.pid").read_text().split()[0])
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
        return []


def rss(processes: list[psutil.Process]) -> int:
    total = 0
    for proc in processes:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def sample_memory(system: System, started: float) -> dict[str, float]:
    row: dict[str, float] = {"t_s": round(time.monotonic() - started, 1)}
    try:
        client = redis_lib.Redis.from_url(system.redis.url, socket_timeout=2)
        row["redis_used_memory"] = float(client.info("memory")["used_memory"])
        client.close()
    except redis_lib.RedisError:
        row["redis_used_memory"] = float("nan")
    row["redis_rss"] = float(rss([psutil.Process(system.redis.proc.pid)]) if system.redis.proc.poll() is None else 0)
    row["postgres_rss"] = float(rss(postgres_processes(system)))
    for name in system.core_services():
        row[f"{name}_rss"] = float(system.services[name].rss_bytes())
    return row


def pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None


def memory_summary(samples: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per series: the first sample after the first minute, the last, and the largest (MB)."""
    if not samples:
        return {}
    settled = [row for row in samples if row["t_s"] >= 60] or samples
    summary: dict[str, dict[str, float]] = {}
    for key in samples[0]:
        if key == "t_s":
            continue
        values = [row[key] for row in settled if row.get(key) == row.get(key)]  # NaN != NaN: Redis was down
        if values:
            summary[key] = {"first_mb": round(values[0] / 2**20, 1), "last_mb": round(values[-1] / 2**20, 1),
                            "max_mb": round(max(values) / 2**20, 1)}
    return summary


def reconcile(system: System, cameras: list[Camera], listener: AlertListener, webhook: WebhookReceiver,
              watched: dict[str, int], windows: list[FaultWindow], exclude_s: float,
              wall_started: float) -> dict[str, Any]:
    accepted: dict[str, PlannedPass] = {}
    for camera in cameras:
        accepted.update(camera.accepted)
    stored: dict[str, int] = {}
    ids = list(accepted)
    for start in range(0, len(ids), 50_000):
        stored.update(system.passes_stored(ids[start:start + 50_000]))
    expected = {pass_id: watched[record.plate] for pass_id, record in accepted.items() if record.plate in watched}
    alerts_stored = system.alerts_stored(expected)
    alert_of = system.alert_ids(expected)
    on_stream = system.alerts_on_stream()
    seen, webhook_seen = listener.counts(), webhook.counts()
    created = {int(row[0]): float(row[1]) for row in system.query(
        "SELECT id, extract(epoch FROM created_at) FROM hit_alert WHERE id = ANY(%s)", list(alert_of.values()))}
    latencies_ms: list[float] = []
    stored_ms: list[float] = []  # the part up to the matcher's commit (hit_alert.created_at)
    slowest: list[tuple[float, float, float]] = []
    for pass_id, alert_id in alert_of.items():
        captured = accepted[pass_id].captured_at.timestamp()
        if alert_id in listener.arrivals and not any(w.started - 1 <= captured <= w.ended + exclude_s
                                                     for w in windows):
            latencies_ms.append((listener.arrivals[alert_id] - captured) * 1000)
            stored_ms.append((created[alert_id] - captured) * 1000)
            slowest.append((latencies_ms[-1], stored_ms[-1], captured - wall_started))
    statuses: dict[int, int] = {}
    for camera in cameras:
        for status, count in camera.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return {
        "passes_accepted": len(accepted), "passes_stored": len(stored),
        "passes_lost": len(set(accepted) - set(stored)), "passes_doubled": sum(1 for n in stored.values() if n > 1),
        "push_answers": {str(status): count for status, count in sorted(statuses.items())},
        "alerts_expected": len(expected), "alerts_stored": len(alerts_stored),
        "alerts_lost": len(set(expected.items()) - set(alerts_stored)),
        "alerts_doubled": sum(1 for n in alerts_stored.values() if n > 1),
        "alerts_on_stream": len(set(alert_of.values()) & set(on_stream)),
        "alerts_seen_sse": len(set(alert_of.values()) & set(seen)),
        "alerts_sse_repeats": sum(seen[a] - 1 for a in alert_of.values() if seen[a] > 1),
        "alerts_webhook": len(set(alert_of.values()) & set(webhook_seen)),
        "latency_samples": len(latencies_ms), "alert_latency_p50_ms": pct(latencies_ms, 0.5),
        "alert_latency_p99_ms": pct(latencies_ms, 0.99), "alert_latency_max_ms": pct(latencies_ms, 1.0),
        "alert_stored_p50_ms": pct(stored_ms, 0.5), "alert_stored_p99_ms": pct(stored_ms, 0.99),
        "slowest_alerts": [{"captured_at_s": round(at_s, 1), "sse_ms": round(total), "stored_ms": round(part)}
                           for total, part, at_s in sorted(slowest, reverse=True)[:5]],
        "sse_connects": listener.connects,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=480.0, help="passes per second, all cameras together")
    parser.add_argument("--watched", type=int, default=1000, help="watched plates, each passing once")
    parser.add_argument("--fault-every-s", type=float, default=120.0, help="0: no faults")
    parser.add_argument("--devices", type=int, default=120)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--exclude-s", type=float, default=30.0, help="latency not counted this long after a fault")
    parser.add_argument("--drain-s", type=float, default=120.0, help="at most this long for the last retries")
    parser.add_argument("--csv", type=Path, help="write the memory samples here")
    args = parser.parse_args()
    seconds = args.minutes * 60
    webhook = WebhookReceiver()
    system = System(Path(tempfile.mkdtemp(prefix="bench-soak-")), webhook_url=webhook.url)
    try:
        system.start()
        setup_started = time.monotonic()
        plates = Plates("粤")
        watched = system.watch_plates(plates.take(args.watched))
        watch_setup_s = time.monotonic() - setup_started
        devices = system.register_devices(args.devices, lanes=args.lanes)
        _, token = system.user_token("dispatcher")
        listener = AlertListener(system.port, token)
        listener.start()
        wait_for(listener.connected.is_set, 30, "the dispatcher's SSE connection")
        draw = WatchedDraw(list(watched), chance=min(1.0, 1.15 * args.watched / max(1.0, args.rate * seconds)))
        started, wall_started = time.monotonic(), time.time()
        until = started + seconds
        image = plate_crop_b64()
        cameras = [Camera(system.port, device.code, device.key, camera_plan(device.code, draw, args.lanes),
                          args.rate / len(devices), image_b64=image, until=until) for device in devices]
        for camera in cameras:
            camera.start()
        rotation = [fault for fault in FAULTS if fault != "relay" or "relay" in system.services]
        windows: list[FaultWindow] = []
        samples: list[dict[str, float]] = []
        next_fault = started + args.fault_every_s if args.fault_every_s else float("inf")
        next_sample = started
        while time.monotonic() < until:
            now = time.monotonic()
            if now >= next_sample:
                samples.append(sample_memory(system, started))
                next_sample += SAMPLE_EVERY_S
            if now >= next_fault:
                windows.append(inject(system, rotation[len(windows) % len(rotation)]))
                next_fault += args.fault_every_s
            time.sleep(max(0.0, min(next_sample, next_fault, until) - time.monotonic()))
        deadline = time.monotonic() + args.drain_s
        for camera in cameras:
            camera.join(timeout=max(0.1, deadline - time.monotonic()))
            camera.abort.set()
        drain_started = time.monotonic()
        try:
            system.wait_drained(timeout_s=args.drain_s)
            alert_ids = set(system.alert_ids([pass_id for camera in cameras
                                              for pass_id, record in camera.accepted.items()
                                              if record.plate in watched]).values())
            wait_for(lambda: alert_ids <= set(listener.counts()), 30, "every stored alert on the live stream")
        except AssertionError:
            pass  # reconciliation below says what is missing
        drained_s = time.monotonic() - drain_started
        samples.append(sample_memory(system, started))
        result = {"bench": "soak", "minutes": args.minutes, "rate_target": args.rate, "devices": len(devices),
                  "watched": len(watched), "watch_setup_s": round(watch_setup_s, 1),
                  "rate_achieved": round(sum(len(c.accepted) for c in cameras) / seconds, 1),
                  **reconcile(system, cameras, listener, webhook, watched, windows, args.exclude_s, wall_started),
                  "drain_s": round(drained_s, 1),
                  "faults": [{"fault": w.fault, "at_s": round(w.started - wall_started, 1),
                              "recover_s": round(w.ended - w.started, 1), **({"error": w.error} if w.error else {})}
                             for w in windows],
                  "memory": memory_summary(samples), "machine_cores": psutil.cpu_count()}
        listener.close()
        if args.csv:
            with args.csv.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(samples[0]))
                writer.writeheader()
                writer.writerows(samples)
        print(json.dumps(result, ensure_ascii=False))
    finally:
        system.close()
        webhook.close()


if __name__ == "__main__":
    main()
