"""Prometheus metrics: counters the workers bump, and gauges read from Redis and PostgreSQL at scrape time.

Counters and histograms live in each process that bumps them. `serve` runs the API, the writer,
matchers and relay as threads of one process, but the LPR workers are processes of their own: with
PROMETHEUS_MULTIPROC_DIR set (else serve names one under the data directory, emptied at each
start) every process writes its values to files there and /metrics sums them (prometheus-client's
multiprocess mode). Production sets the folder in the environment of every unit
(deploy/checkpoint.env.example), so each process writes there from its first import. Gauges that
describe shared state (stream lag per group, feeds online) are computed when scraped, by collectors
the domains register here, so they are right whichever process answers.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SLOW_REQUEST_S = 5.0  # a request slower than this is logged (a structured line) besides being counted
STREAM_ROUTE = "/api/v1/watchlist/alerts/stream"  # open for hours by design: never "slow"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_SECONDS = Histogram("checkpoint_http_request_duration_seconds", "HTTP request latency by route template",
                         ["method", "route", "status"], buckets=LATENCY_BUCKETS)
PASSES_IN = Counter("checkpoint_passes_in_total", "Passes accepted into the reads stream", ["source"])
PASSES_STORED = Counter("checkpoint_passes_stored_total", "Passes committed to PostgreSQL by the writer")
ALERTS_RAISED = Counter("checkpoint_alerts_raised_total", "Hit alert events committed by the matchers", ["kind"])
ALERTS_DELIVERED = Counter("checkpoint_alerts_delivered_total", "Alert events delivered", ["channel"])
LPR_SECONDS = Histogram("checkpoint_lpr_seconds", "Plate reading time per image", ["source"],
                        buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4))

LiveCollect = Callable[[], Iterable[Metric]]
_live_sources: dict[str, LiveCollect] = {}  # scrape-time gauges by name, never in the multiprocess files


class _Live(Collector):
    def collect(self) -> Iterable[Metric]:
        found: list[Metric] = []
        for name, collect in list(_live_sources.items()):
            try:
                found += list(collect())
            except Exception as exc:  # an outage must not turn /metrics into a 500: its gauges are left out
                log.warning("metrics.collector_failed", extra={"collector": name, "error": repr(exc)})
        return found


_live = CollectorRegistry(auto_describe=False)
_live.register(_Live())


def prepare_multiprocess(folder: Path) -> None:
    """Point this process and its children at a fresh multiprocess folder (call before any worker starts)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)


def register_live(name: str, collect: LiveCollect) -> None:
    """A domain's scrape-time gauges (registered again under the same name: replaced)."""
    _live_sources[name] = collect


def gauge(name: str, documentation: str, labels: list[str],
          values: Iterable[tuple[list[str], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values:
        family.add_metric(label_values, value)
    return family


def render() -> tuple[bytes, str]:
    """The exposition text: every process's counters (multiprocess mode) or this one's, then the live gauges.

    A process that imported prometheus-client before the folder was named keeps its values in memory
    (serve's own process, whose children got the folder): its registry is added to the files' sums.
    """
    counted = b""
    in_files = values.ValueClass.__name__ == "MmapedValue"
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # the library is untyped here
        counted = generate_latest(registry)
    if not in_files:
        counted += generate_latest(REGISTRY)
    return counted + generate_latest(_live), CONTENT_TYPE_LATEST


class HttpMetricsMiddleware:
    """Latency of every request, labelled by its route template (never the raw path: ids would explode it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            HTTP_SECONDS.labels(scope["method"], route, str(status)).observe(seconds)
            if status >= 500 or (seconds > SLOW_REQUEST_S and route != STREAM_ROUTE):
                client = scope.get("client")
                log.warning("http.failed" if status >= 500 else "http.slow",
                            extra={"method": scope["method"], "route": route, "path": scope["path"],
                                   "status": status, "seconds": round(seconds, 3),
                                   "client": client[0] if client else None})


def route_template(scope: Scope) -> str:
    """The matched route's path template with its router's prefix (FastAPI keeps that on its route context)."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    route = context if getattr(context, "path", None) else scope.get("route")
    return str(getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched")


def stream_metrics() -> Iterable[Metric]:
    """Lag (not yet delivered) and pending (delivered, not acked) of each consumer group, from XINFO GROUPS."""
    from checkpoint.core.bus import Bus  # here: metrics is imported by workers before any bus exists
    from checkpoint.core.health import stream_lags

    if Bus.client is None:
        return []
    lags = stream_lags(Bus.client)
    return [gauge("checkpoint_stream_lag", "Entries not yet delivered to the consumer group", ["stream", "group"],
                  [([item.stream, item.group], item.lag) for item in lags if item.lag is not None]),
            gauge("checkpoint_stream_pending", "Entries delivered to the group and not yet acknowledged",
                  ["stream", "group"], [([item.stream, item.group], item.pending) for item in lags])]
