"""The ETL's run metrics, pushed to a Prometheus Pushgateway at the end of each run (`PUSHGATEWAY_URL`).

A scheduled job has no endpoint to scrape, so each run pushes its own: duration, rows by table and
stage, the time of the last success. A failed run pushes only its failure (POST, which replaces just the
metrics it names), so the last success timestamp survives and the staleness alert keeps counting.
Pushing never fails a run: an unreachable Pushgateway costs one warning.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

if TYPE_CHECKING:
    from etl_service.pipeline import RunSummary

log = logging.getLogger(__name__)
JOB = "etl_service"
PUSH_TIMEOUT_SECONDS = 2.0


def success_registry(summary: RunSummary, now: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    labels = {"mode": summary.mode}
    Gauge("etl_run_duration_seconds", "Wall time of the last run.", ["mode"], registry=registry).labels(
        **labels
    ).set(summary.duration_s)
    rows = Gauge(
        "etl_rows", "Rows of the last run by table and stage.", ["table", "stage"], registry=registry
    )
    for table, stats in summary.tables.items():
        rows.labels(table, "extracted").set(stats.extracted)
        rows.labels(table, "loaded").set(stats.loaded)
        rows.labels(table, "quarantined").set(len(stats.quarantined))
    Gauge("etl_last_success_timestamp_seconds", "End of the last successful run.", registry=registry).set(now)
    _outcome(registry, now, success=True)
    return registry


def failure_registry(now: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    _outcome(registry, now, success=False)
    return registry


def _outcome(registry: CollectorRegistry, now: float, *, success: bool) -> None:
    Gauge("etl_last_run_success", "1 when the last run succeeded, 0 when it failed.", registry=registry).set(
        1 if success else 0
    )
    Gauge("etl_last_run_timestamp_seconds", "End of the last run, successful or not.", registry=registry).set(
        now
    )


def push(url: str | None, registry: CollectorRegistry) -> bool:
    if not url:
        return False
    try:
        pushadd_to_gateway(url, job=JOB, registry=registry, timeout=PUSH_TIMEOUT_SECONDS)
    except OSError as exc:
        log.warning("etl metrics not pushed to %s: %s", url, type(exc).__name__)
        return False
    return True


def push_success(url: str | None, summary: RunSummary) -> bool:
    return push(url, success_registry(summary, time.time()))


def push_failure(url: str | None) -> bool:
    return push(url, failure_registry(time.time()))
