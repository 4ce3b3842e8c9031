"""The mechanics under the metrics, without a stack: worker processes' counts are summed (multiprocess
mode never loses a worker's counts), a dead worker's live gauge is dropped while its counters stay, the
gateway labels by route template, and breaker changes reach the gauge."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.parser import text_string_to_metric_families

from common import metric_buffer
from common.metrics import LATENCY_BUCKETS
from gateway.breaker import BreakerBoard, BreakerState
from gateway.metrics import UNKNOWN_ROUTE, route_template
from gateway.ratelimit import Limit, SharedRateLimiter

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
from common.metrics import observe
from booking_service.metrics import POOL_IN_USE
for _ in range(int(sys.argv[1])):
    observe("/api/bookings/properties", "GET", 200, None)
POOL_IN_USE.inc(int(sys.argv[1]))
"""


def samples(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def run_worker(directory: Path, count: int) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", WORKER, str(count)], cwd=ROOT, env=env, check=True, timeout=60)


def test_counts_of_every_worker_process_are_summed_and_dead_workers_gauges_dropped(tmp_path: Path) -> None:
    run_worker(tmp_path, 3)
    run_worker(tmp_path, 4)
    found = samples(tmp_path)
    key = (
        "http_server_requests_total",
        (("method", "GET"), ("route", "/api/bookings/properties"), ("status", "2xx")),
    )
    assert found[key] == 7
    # Both "workers" have exited: the next one to start (init_metrics) forgets their live gauges.
    assert found[("booking_db_pool_in_use", ())] == 7
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    forget = "from common.metrics import forget_dead_workers; forget_dead_workers()"
    subprocess.run([sys.executable, "-c", forget], cwd=ROOT, env=env, check=True, timeout=60)
    after = samples(tmp_path)
    assert after[key] == 7, "counters outlive their workers"
    assert after.get(("booking_db_pool_in_use", ()), 0) == 0


def test_gateway_routes_are_the_public_templates() -> None:
    assert route_template("/api/bookings/properties") == "/api/bookings/properties"
    assert route_template("/api/bookings/properties/") == "/api/bookings/properties"
    assert route_template("/api/bookings/properties/123/calendar") == "/api/bookings/properties/{id}/calendar"
    assert route_template("//api/bookings//booking/9") == "/api/bookings/booking/{id}"
    assert route_template("/api/cancel-booking/77") == "/api/cancel-booking/{id}"
    assert route_template("/api/no/such/thing/123") == UNKNOWN_ROUTE
    assert route_template(f"/api/users/{'x' * 50}/role") == "/api/users/{id}/role"


def test_breaker_changes_are_reported_once_each() -> None:
    seen: list[tuple[str, BreakerState]] = []
    board = BreakerBoard(2, 0.0, lambda key, state: seen.append((key, state)))
    breaker = board.get("10.0.0.1:8000")
    breaker.record_failure()
    breaker.record_failure()  # opens
    breaker.record_failure()  # already open: no report
    assert breaker.try_acquire()  # cooled down (reset 0 s): half-open
    breaker.record_success()
    states = [state for _, state in seen]
    assert states == [BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]
    assert {key for key, _ in seen} == {"10.0.0.1:8000"}


def test_buffered_updates_equal_direct_ones_once_flushed() -> None:
    buffered = Histogram("buffered_seconds", "b", registry=None, buckets=LATENCY_BUCKETS)
    direct = Histogram("direct_seconds", "d", registry=None, buckets=LATENCY_BUCKETS)
    counted, gauge = (
        Counter("buffered_things", "c", registry=None),
        Gauge("buffered_level", "g", registry=None),
    )
    observe, add, move = (
        metric_buffer.observer(buffered),
        metric_buffer.adder(counted),
        metric_buffer.adder(gauge),
    )
    for amount in (0.0004, 0.0005, 0.001, 0.003, 0.25, 20.0):
        observe(amount)
        direct.observe(amount)
        add()
        move(1)
    move(-4)
    metric_buffer.flush()

    def values(metric: Histogram | Counter | Gauge) -> list[float]:
        return [
            s.value for family in metric.collect() for s in family.samples if not s.name.endswith("_created")
        ]

    assert values(buffered) == values(direct)
    assert values(counted) == [6.0] and values(gauge) == [2.0]


def test_rate_limit_refusals_are_counted_by_scope() -> None:
    limiter = SharedRateLimiter(lambda: None, clock=lambda: 1000.5)  # no Redis: counted in process

    def refused() -> float:
        return REGISTRY.get_sample_value("gateway_rate_limited_total", {"scope": "ip"}) or 0.0

    before = refused()
    limit = Limit(2, 60)
    results = [limiter.hit("ip", "203.0.113.9", limit) for _ in range(4)]
    assert results[:2] == [None, None] and all(r is not None for r in results[2:])
    assert refused() - before == 2
