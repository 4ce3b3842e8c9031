"""Balancing, health checks, timeouts, retries, hedging and breakers over real upstream instances."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import requests

from tests.support.faults import wait_until
from tests.support.gateway_rig import Gateway, Upstream, all_hits, healthy_ports, make_gateway


def test_requests_are_balanced_over_instances(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    names = {requests.get(f"{gateway.url}/api/users/login", timeout=5).json()["instance"] for _ in range(6)}
    assert names == {"users-a", "users-b"}


def test_dead_instance_is_skipped_without_failing_a_get(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    upstreams["users-a"].stop()
    statuses = [requests.get(f"{gateway.url}/api/users/login", timeout=5).status_code for _ in range(20)]
    assert statuses == [200] * 20
    assert len(upstreams["users-b"].hits) == 20


def test_instance_is_used_again_after_it_comes_back(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    upstreams["users-a"].stop()
    assert wait_until(lambda: upstreams["users-a"].port not in healthy_ports(gateway), 5)
    upstreams["users-a"].start()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not upstreams["users-a"].hits:
        requests.get(f"{gateway.url}/api/users/login", timeout=5)
        time.sleep(0.05)
    assert upstreams["users-a"].hits, "a recovered instance must get traffic again"


def test_read_timeout_on_post_without_idempotency_key_is_504_and_not_retried(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    for name in ("users-a", "users-b"):
        upstreams[name].mode = "hang"
    response = requests.post(f"{gateway.url}/api/users/login", data=b"{}", timeout=5)
    assert response.status_code == 504
    assert response.json() == {"error": "Upstream service timed out"}
    assert all_hits(upstreams, "users") == 1


def test_idempotent_request_that_times_out_is_retried_on_the_other_instance(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream]
) -> None:
    """The retry path itself, so hedging (which would answer first) is off."""
    gateway = make_gateway(keys, upstreams, upstream_hedge_after=0)
    upstreams["users-a"].mode = "hang"
    try:
        for _ in range(2):  # round robin: one of these starts on the hanging instance
            response = requests.post(
                f"{gateway.url}/api/users/login", headers={"Idempotency-Key": "k"}, timeout=5
            )
            assert response.status_code == 201 and response.json()["instance"] == "users-b"
        assert len(upstreams["users-a"].hits) == 1
    finally:
        gateway.close()


def test_client_errors_never_open_the_breaker(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    for _ in range(30):
        assert requests.get(f"{gateway.url}/api/users/login?status=401", timeout=5).status_code == 401
    response = requests.get(f"{gateway.url}/api/users/login", timeout=5)
    assert response.status_code == 200


def test_request_caused_500s_never_open_the_breaker(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    """Issue #15 item 2: forty 500s that bad requests caused must not take the instances out."""
    for name in ("bookings-a", "bookings-b"):
        upstreams[name].mode = "error"
    for _ in range(40):
        assert requests.get(f"{gateway.url}/api/bookings/properties", timeout=5).status_code == 500
    for name in ("bookings-a", "bookings-b"):
        upstreams[name].mode = "ok"
    statuses = [
        requests.get(f"{gateway.url}/api/bookings/properties", timeout=5).status_code for _ in range(4)
    ]
    assert statuses == [200] * 4


def test_all_breakers_open_answers_503_fast_then_recovers(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    for name in ("bookings-a", "bookings-b"):
        upstreams[name].mode = "unavailable"
    for _ in range(10):  # 5 consecutive 503s per instance open both breakers; their bodies pass through
        assert requests.get(f"{gateway.url}/api/bookings/properties", timeout=5).status_code == 503
    hits_before = all_hits(upstreams, "bookings")
    elapsed = []
    for _ in range(20):
        started = time.perf_counter()
        response = requests.get(f"{gateway.url}/api/bookings/properties", timeout=5)
        elapsed.append(time.perf_counter() - started)
        assert response.status_code == 503 and response.json() == {"error": "Service unavailable"}
        assert response.headers["Retry-After"] == "1"
    assert all_hits(upstreams, "bookings") == hits_before, "open breakers must not send traffic"
    # Wall-clock figures on a shared 2-core box have outliers; the median shows the fail-fast path.
    assert statistics.median(elapsed) < 0.05, elapsed
    for name in ("bookings-a", "bookings-b"):
        upstreams[name].mode = "ok"
    time.sleep(2.1)  # the cool-down; the next request is the half-open trial
    assert requests.get(f"{gateway.url}/api/bookings/properties", timeout=5).status_code == 200


def test_no_healthy_instance_is_503_json(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    for name in ("users-a", "users-b"):
        upstreams[name].stop()
    response = requests.get(f"{gateway.url}/api/users/login", timeout=5)
    assert response.status_code == 503 and response.json() == {"error": "Service unavailable"}
    assert wait_until(lambda: healthy_ports(gateway) == set(), 5)
    ready = requests.get(f"{gateway.url}/ready", timeout=5)
    assert ready.status_code == 503 and ready.json()["checks"]["user_service"] == "down"


def test_only_healthy_instances_get_traffic(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    requests.get(f"{gateway.url}/ready", timeout=5)  # health checks start on first use
    upstreams["users-a"].mode = "sick"  # fails /health but would still answer the API
    assert wait_until(lambda: healthy_ports(gateway) == {upstreams["users-b"].port}, 5)
    for _ in range(6):
        assert requests.get(f"{gateway.url}/api/users/login", timeout=5).json()["instance"] == "users-b"
    assert upstreams["users-a"].hits == []


def test_when_no_instance_passes_checks_all_are_tried_rather_than_refusing(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    requests.get(f"{gateway.url}/ready", timeout=5)
    for name in ("users-a", "users-b"):
        upstreams[name].mode = "sick"
    assert wait_until(lambda: healthy_ports(gateway) == set(), 5)
    assert requests.get(f"{gateway.url}/ready", timeout=5).status_code == 503
    assert requests.get(f"{gateway.url}/api/users/login", timeout=5).status_code == 200


def test_a_read_the_first_instance_leaves_unanswered_is_hedged_to_the_other(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream]
) -> None:
    """Issue #15 item 9: a frozen or stalled instance costs a read the hedge delay, not the timeout."""
    gw = make_gateway(keys, upstreams, upstream_read_timeout=5.0, upstream_hedge_after=0.3)
    upstreams["users-a"].mode = "hang"
    try:
        for _ in range(2):  # round robin: one of these starts on the stalled instance
            started = time.perf_counter()
            response = requests.get(f"{gw.url}/api/users/login", timeout=10)
            assert response.status_code == 200 and response.json()["instance"] == "users-b"
            assert time.perf_counter() - started < 1.2
        writes = [requests.post(f"{gw.url}/api/users/login", timeout=10).json()["instance"] for _ in range(4)]
        assert writes == ["users-b"] * 4, "writes, which are never hedged, avoid the slow instance"
    finally:
        gw.close()
