"""Prometheus metrics of a service process: RED per route template and `/metrics`.

Every server runs several worker processes (granian workers, gunicorn's), so values live in
prometheus-client's multiprocess mode: each worker writes its own files under
`PROMETHEUS_MULTIPROC_DIR` (one directory per instance, emptied by the launcher before it starts) and
`/metrics` sums them, so no worker's counts are lost. Without that variable (an app built in a test
process) the process's own registry is served.

The hot path costs one counter increment and one histogram observation on label children bound once
per (route, method, status) and kept in a dict, never a registry lookup per request; both are buffered
in process and written every half second (common/metric_buffer.py).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from common import metric_buffer, tracing
from common.multiproc import MULTIPROC_DIR_ENV, ensure_multiprocess_dir

ensure_multiprocess_dir()
# Never through the public nginx (its configuration refuses these paths); not counted as traffic either.
PRIVATE_PATHS = frozenset({"/metrics", "/health", "/ready"})
# The bench's figures: one-client p50 0.7-1.0 ms through the gateway, p99 at load 10-40 ms, timeouts 5 s.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "http_server_requests",
    "HTTP requests answered, by route template, method and status class.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Time from the first hook of the app to its response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)

RouteOf = Callable[[], str]
_children: dict[tuple[str, str, int], tuple[Callable[[], None], Callable[[float], None]]] = {}


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def exposition() -> bytes:
    """The text format of every metric of this instance (all its workers in multiprocess mode)."""
    metric_buffer.flush()
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


def metrics_blueprint() -> Blueprint:
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def metrics() -> Response:
        return Response(exposition(), mimetype=CONTENT_TYPE_LATEST)

    return blueprint


def flask_route() -> str:
    """The Flask rule that matched (`/api/bookings/properties/<int:property_id>`), never the raw path."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def init_observability(app: Flask, route_of: RouteOf = flask_route) -> None:
    """Request spans (when tracing is on: `tracing.init_tracing` ran first, in the factory) and metrics;
    call right after `init_web`, so the span is current for every later hook and log line."""
    tracing.init_request_spans(app, route_of)
    init_metrics(app, route_of)


def init_metrics(app: Flask, route_of: RouteOf = flask_route) -> None:
    """`/metrics` plus RED metrics for every request but the private paths (`METRICS_ENABLED=false`
    keeps only `/metrics`: the bench's baseline)."""
    forget_dead_workers()
    app.register_blueprint(metrics_blueprint())
    if os.environ.get("METRICS_ENABLED", "true").strip().lower() == "false":
        return

    @app.after_request
    def _observe(response: Response) -> Response:
        if request.path not in PRIVATE_PATHS:
            observe(route_of(), request.method, response.status_code, g.get("started"))
        return response


def observe(route: str, method: str, status: int, started: float | None) -> None:
    key = (route, method, status)
    bound = _children.get(key)
    if bound is None:
        status_class = f"{status // 100}xx"
        bound = (
            metric_buffer.adder(HTTP_REQUESTS.labels(route, method, status_class)),
            metric_buffer.observer(HTTP_DURATION.labels(route, method)),
        )
        _children[key] = bound
    count, duration = bound
    count()
    if started is not None:
        duration(time.perf_counter() - started)


_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+_(\d+)\.db$")


def forget_dead_workers() -> None:
    """Drops the live gauges of workers that died (a respawned worker cleans up after its predecessor);
    their counters stay, as counters must."""
    directory = multiprocess_dir()
    if directory is None:
        return
    for path in Path(directory).glob("gauge_live*_*.db"):
        match = _LIVE_GAUGE_FILE.match(path.name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            multiprocess.mark_process_dead(int(match.group(1)), directory)
