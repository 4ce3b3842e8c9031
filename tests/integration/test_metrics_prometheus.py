"""Metrics end to end: a scripted burst through real nginx, then Prometheus' HTTP API (a real Prometheus
scraping every process and exporter of a private stack every 2 s) shows each service's series grown by
exactly what the burst sent, every target up, and the ETL's run pushed through the Pushgateway.
Tracing is on in this stack too (towards a fake collector: tests/support/otlp_collector.py).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from tests.support.data import booking_engine, insert_property
from tests.support.etl import run_cli
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.slow
SCRAPE_WAIT_S = 20.0


def query(stack: Any, promql: str) -> list[dict[str, Any]]:
    response = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["result"]


def value(stack: Any, promql: str) -> float:
    """The single value of `promql` (0 when it has no series yet: a counter nobody has touched)."""
    result = query(stack, promql)
    assert len(result) <= 1, result
    return float(result[0]["value"][1]) if result else 0.0


def eventually(check: Callable[[], bool], timeout: float = SCRAPE_WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


def grows_by(stack: Any, promql: str, before: float, expected: float) -> float:
    """Waits for the scrapes to show the increment; returns the increment seen."""
    eventually(lambda: value(stack, promql) - before >= expected)
    return value(stack, promql) - before


LOGIN_4XX = 'sum(http_server_requests_total{job="%s", route="/api/users/login", status="4xx"})'
LOGIN_2XX = 'sum(http_server_requests_total{job="%s", route="/api/users/login", status="2xx"})'
LIST_GATEWAY = (
    'sum(http_server_requests_total{job="gateway", route="/api/bookings/properties", status="2xx"})'
)
LIST_BOOKING = 'sum(http_server_requests_total{job="booking_service", route="/api/bookings/properties"})'
WATCHED = {
    "gateway_login_4xx": LOGIN_4XX % "gateway",
    "gateway_login_2xx": LOGIN_2XX % "gateway",
    "user_login_4xx": LOGIN_4XX % "user_service",
    "user_login_2xx": LOGIN_2XX % "user_service",
    "logins_wrong": 'sum(user_logins_total{outcome="wrong_credentials"})',
    "logins_ok": 'sum(user_logins_total{outcome="success"})',
    "upstream_user_4xx": 'sum(gateway_upstream_requests_total{service="user_service", outcome="4xx"})',
    "list_gateway": LIST_GATEWAY,
    "list_booking": LIST_BOOKING,
    "cache_lookups": "sum(booking_cache_lookups_total)",
    "gateway_latency_count": 'sum(http_server_request_duration_seconds_count{job="gateway", route="/api/bookings/properties"})',
    "gateway_copy_lookups": "sum(gateway_answer_copy_lookups_total)",
}  # fmt: skip


@pytest.fixture(scope="module")
def burst(observed_stack: Any) -> dict[str, float]:
    """What each watched series grew by after 3 failed and 2 good logins and 10 uncached list reads."""
    stack = observed_stack
    assert eventually(lambda: value(stack, "count(up == 1)") >= 20, 30), query(stack, "up")
    before = {name: value(stack, promql) for name, promql in WATCHED.items()}
    login = f"{stack.nginx_url}/api/users/login"
    for _ in range(3):
        wrong = {"email": DEV_ADMIN_EMAIL, "password": f"wrong-{uuid.uuid4().hex}"}
        assert requests.post(login, json=wrong, timeout=10).status_code == 401
    for _ in range(2):
        good = {"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
        assert requests.post(login, json=good, timeout=10).status_code == 200
    auth = {"Authorization": f"Bearer {stack.token(424242)}"}  # a token: nginx's edge cache is bypassed
    town = f"Metricsville-{uuid.uuid4().hex[:8]}"
    for i in range(10):  # ten searches no gateway has a copy of: each reaches booking_service
        url = f"{stack.nginx_url}/api/bookings/properties?location={town}-{i}"
        assert requests.get(url, headers=auth, timeout=10).ok
    expected = {"gateway_login_4xx": 3, "user_login_4xx": 3, "logins_wrong": 3, "upstream_user_4xx": 3,
                "gateway_login_2xx": 2, "user_login_2xx": 2, "logins_ok": 2, "list_gateway": 10,
                "list_booking": 10, "cache_lookups": 10, "gateway_latency_count": 10,
                "gateway_copy_lookups": 10}  # fmt: skip
    return {name: grows_by(stack, WATCHED[name], before[name], expected[name]) for name in WATCHED}


def test_every_target_is_up(observed_stack: Any) -> None:
    stack = observed_stack
    targets = sum(map(len, stack.ports.services.values())) + len(stack.ports.cluster) + 4 + 2  # 4 exporters
    assert eventually(lambda: value(stack, "count(up == 1)") == targets, 30), query(stack, "up == 0")
    jobs = {series["metric"]["job"] for series in query(stack, "up == 1")}
    expected = set(stack.ports.services) | {"postgres", "mysqld", "redis", "redis_cluster", "nginx",
                                            "pushgateway", "prometheus"}  # fmt: skip
    assert jobs == expected
    instances = {s["metric"]["instance"] for s in query(stack, 'up{job=~"gateway|booking_service"}')}
    assert len(instances) == 4, "each instance of a service is its own target"


def test_gateway_counts_each_request_once_by_route_template(burst: dict[str, float]) -> None:
    assert burst["gateway_login_4xx"] == 3
    assert burst["gateway_login_2xx"] == 2
    assert burst["list_gateway"] == 10
    assert burst["gateway_latency_count"] == 10
    assert burst["upstream_user_4xx"] == 3, "three upstream attempts answered 401, none retried"
    assert burst["gateway_copy_lookups"] >= 10, "each search was looked up in the gateway's copies"


def test_gateway_labels_are_templates_never_raw_paths(observed_stack: Any) -> None:
    stack = observed_stack
    requests.get(f"{stack.nginx_url}/api/bookings/properties/{uuid.uuid4().int % 10**9}", timeout=10)
    assert eventually(
        lambda: (
            value(
                stack, 'sum(http_server_requests_total{job="gateway", route="/api/bookings/properties/{id}"})'
            )
            >= 1
        )
    )
    routes = {s["metric"]["route"] for s in query(stack, 'http_server_requests_total{job="gateway"}')}
    assert all("{" in r or not any(c.isdigit() for c in r) for r in routes), routes


def test_user_service_counts_logins_by_outcome(burst: dict[str, float]) -> None:
    assert burst["user_login_4xx"] == 3 and burst["user_login_2xx"] == 2
    assert burst["logins_wrong"] == 3 and burst["logins_ok"] == 2


def test_booking_service_counts_requests_and_cache_lookups(
    burst: dict[str, float], observed_stack: Any
) -> None:
    # Hedging may send a slow read to the second instance too, so the service may see more than 10.
    assert burst["list_booking"] >= 10
    assert burst["cache_lookups"] >= 10
    outcomes = {s["metric"]["outcome"] for s in query(observed_stack, "booking_cache_lookups_total")}
    assert outcomes & {"hit", "miss"}
    assert query(observed_stack, "booking_db_pool_in_use"), "the pool gauge is exported"


def test_user_reads_are_counted_by_the_server_that_answered(observed_stack: Any) -> None:
    stack = observed_stack
    reads = 'sum(user_db_reads_total{target="replica"})'
    statements = 'sum(user_db_statements_total{server="replica0"})'
    before_reads, before_statements = value(stack, reads), value(stack, statements)
    auth = {"Authorization": f"Bearer {stack.token(626262)}"}
    for _ in range(4):  # a profile is read from a replica (no write before it in the request)
        requests.get(f"{stack.nginx_url}/api/users/profile", headers=auth, timeout=10)
    assert grows_by(stack, reads, before_reads, 4) >= 4
    # the per-engine statement counters (once a test-only hook) are this metric now
    assert grows_by(stack, statements, before_statements, 4) >= 4


def test_realtime_counts_connected_clients_and_deliveries(observed_stack: Any) -> None:
    stack = observed_stack
    before = value(stack, "sum(realtime_deliveries_total)")
    client = NotificationClient.connect(stack.url("booking_realtime", 0), stack.token(515151))
    try:
        assert eventually(lambda: value(stack, "sum(realtime_connected_clients)") >= 1)
        assert eventually(lambda: value(stack, "sum(realtime_deliveries_total)") > before)
    finally:
        client.close()
    assert eventually(lambda: value(stack, "sum(realtime_connected_clients)") == 0)


def test_etl_run_is_pushed_to_the_pushgateway_and_scraped(observed_stack: Any) -> None:
    stack = observed_stack
    started = time.time()
    result = run_cli(stack, "run", PUSHGATEWAY_URL=stack.pushgateway_url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert eventually(lambda: value(stack, "max(etl_last_success_timestamp_seconds)") >= int(started))
    assert value(stack, "max(etl_last_run_success)") == 1
    assert value(stack, "max(etl_run_duration_seconds)") > 0
    tables = {s["metric"]["table"] for s in query(stack, 'etl_rows{stage="loaded"}')}
    assert {"dim_property", "dim_user", "fact_booking"} <= tables


def test_stores_and_nginx_are_measured_by_their_exporters(observed_stack: Any) -> None:
    stack = observed_stack
    servers = "count(count by (server) (pg_stat_activity_count))"
    assert eventually(lambda: value(stack, servers) == 3), "primary, replica and warehouse"
    assert value(stack, "max(pg_up)") == 1
    assert value(stack, "max(mysql_up)") == 1
    assert eventually(lambda: value(stack, "count(redis_cluster_state == 1)") == 6)
    assert value(stack, 'max(redis_up{job="redis"})') == 1
    assert value(stack, "count(pg_stat_replication_pg_wal_lsn_diff)") >= 1, (
        "the primary streams to its replica"
    )
    assert value(stack, "max(nginx_connections_accepted)") > 0


def test_recording_rules_are_loaded_and_evaluated(observed_stack: Any, burst: dict[str, float]) -> None:
    stack = observed_stack
    rules = requests.get(f"{stack.prometheus_url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    names = {rule["name"] for group in rules for rule in group["rules"]}
    assert {"job:http_server_errors:ratio_rate5m", "EtlStale", "GatewayBreakerOpen"} <= names
    assert eventually(lambda: bool(query(stack, 'job:http_server_requests:rate5m{job="gateway"}')), 30)


@pytest.mark.parametrize("port", ["nginx_http", "nginx_socket"])
@pytest.mark.parametrize("path", ["/metrics", "/health", "/ready", "/metrics/", "/api/metrics"])
def test_private_endpoints_are_not_reachable_through_public_nginx(
    observed_stack: Any, port: str, path: str
) -> None:
    base = observed_stack.nginx_url if port == "nginx_http" else observed_stack.socket_url
    response = requests.get(f"{base}{path}", timeout=5)
    assert response.status_code == 404, (path, response.status_code)
    assert "# HELP" not in response.text and '"checks"' not in response.text


def test_bookings_are_counted_confirmed_and_conflicted(observed_stack: Any) -> None:
    stack = observed_stack
    engine = booking_engine(stack)
    property_id = insert_property(engine, "Countville", 90, "counted")
    engine.dispose()
    confirmed, conflicted = (
        'sum(booking_requests_total{outcome="confirmed"})',
        'sum(booking_requests_total{outcome="conflicted"})',
    )
    before = value(stack, confirmed), value(stack, conflicted)
    start = dt.date.today() + dt.timedelta(days=60)
    dates = {"startDate": start.isoformat(), "endDate": (start + dt.timedelta(days=2)).isoformat()}
    for guest, status in ((880001, 201), (880002, 409)):
        made = requests.post(
            f"{stack.nginx_url}/api/bookings/book",
            json={"userId": guest, "propertyId": property_id, **dates},
            headers={"Authorization": f"Bearer {stack.token(guest)}"},
            timeout=10,
        )
        assert made.status_code == status, made.text
    assert grows_by(stack, confirmed, before[0], 1) == 1
    assert grows_by(stack, conflicted, before[1], 1) == 1
