"""Gateway resilience on a private stack of real processes (nginx, 2 gateways, 2+2 service instances):
a SIGKILLed service instance is skipped within 2 s and used again once back, a SIGKILLed gateway costs
no GET either, client errors never open a breaker,
and with every booking instance dead the gateway answers 503 JSON at once and recovers within 5 s."""

from __future__ import annotations

import json
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.client_load import ClientLoop
from tests.support.faults import sigkill_instance, wait_until

pytestmark = pytest.mark.slow
PROFILE = "/api/users/profile"


def get_loop(url: str, tokens: list[str], clients: int = 4) -> ClientLoop:
    """Signed-in GETs through nginx until the `with` block ends, every answer recorded."""

    def get(session: requests.Session, client: int) -> int:
        headers = {"Authorization": f"Bearer {tokens[client % len(tokens)]}"}
        return session.get(url, headers=headers, timeout=10).status_code

    return ClientLoop(get, clients)


def served(stack: Any, name: str, instance: int, since: float, path: str) -> int:
    """GETs of `path` the instance answered 200 since `since`, by its log."""
    prefix = f"GET {path} 200"
    return sum(
        r.get("message", "").startswith(prefix) for r in log_records(stack.log_path(name, instance), since)
    )


def log_records(path: Path, since: float) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        stamp = datetime.fromisoformat(
            record.get("@timestamp", "1970-01-01T00:00:00+00:00").replace("Z", "+00:00")
        )
        if stamp.timestamp() >= since:
            records.append({**record, "_ts": stamp.timestamp()})
    return records


def test_killed_instance_is_skipped_within_2s_and_used_again_after_restart(
    chaos_stack: Any, load_users: Any
) -> None:
    port = chaos_stack.ports.services["user_service"][0]
    url = chaos_stack.nginx_url + PROFILE
    with get_loop(url, [u.token for u in load_users]) as loop:
        assert wait_until(lambda: loop.successes() >= 100, 15), "reads should flow before the fault"
        killed_at = time.time()
        try:
            sigkill_instance(chaos_stack, "user_service", 0)
            time.sleep(5)  # holds the fault: the instance stays dead well past the 2 s bound
        finally:
            chaos_stack.start("user_service", 0)
        restarted_at = time.time()
        back = wait_until(lambda: served(chaos_stack, "user_service", 0, restarted_at, PROFILE) >= 10, 20)
    assert len(loop.answers) > 200, "the loop should have run steadily"
    assert loop.failures() == [], f"{len(loop.failures())} failed GETs while one instance was dead"
    marker = f"instance http://127.0.0.1:{port} is now unhealthy"
    for gateway in (0, 1):
        ejected = [r["_ts"] for r in log_records(chaos_stack.log_path("gateway", gateway), killed_at)
                   if r.get("message") == marker]  # fmt: skip
        assert ejected, f"gateway-{gateway} never marked user_service-0 down"
        assert ejected[0] - killed_at <= 2.0, f"gateway-{gateway} took {ejected[0] - killed_at:.2f}s"
    assert back, "the restarted instance must get traffic again"


def test_killed_gateway_fails_no_get_through_nginx_and_serves_again_after_restart(
    chaos_stack: Any, load_users: Any
) -> None:
    url = chaos_stack.nginx_url + PROFILE
    with get_loop(url, [u.token for u in load_users]) as loop:
        assert wait_until(lambda: loop.successes() >= 100, 15), "reads should flow before the fault"
        try:
            sigkill_instance(chaos_stack, "gateway", 0)
            time.sleep(5)  # holds the fault: nginx must route around the dead gateway for a while
        finally:
            chaos_stack.start("gateway", 0)
        restarted_at = time.time()
        back = wait_until(lambda: served(chaos_stack, "gateway", 0, restarted_at, PROFILE) >= 10, 20)
    assert len(loop.answers) > 200, "the loop should have run steadily"
    assert loop.failures() == [], f"{len(loop.failures())} failed GETs while one gateway was dead"
    assert back, "nginx must send traffic to the restarted gateway again"


def test_a_stream_of_client_errors_never_opens_a_breaker(chaos_stack: Any, load_users: Any) -> None:
    since = time.time()
    base = chaos_stack.nginx_url + "/api/users"
    statuses = {
        requests.post(base + "/login", json={"email": f"nobody{i}@example.com", "password": "wrong-password"},
                      timeout=10).status_code
        for i in range(60)
    }  # fmt: skip
    assert statuses <= {401, 429}, statuses
    headers = {"Authorization": f"Bearer {load_users[0].token}"}
    assert [requests.get(base + "/profile", headers=headers, timeout=10).status_code for _ in range(20)] == [
        200
    ] * 20
    for gateway in (0, 1):
        opened = [r for r in log_records(chaos_stack.log_path("gateway", gateway), since)
                  if "circuit breaker is open" in r.get("message", "")]  # fmt: skip
        assert opened == []


def test_all_booking_instances_dead_is_fast_503_and_recovers_within_5s(chaos_stack: Any) -> None:
    """The gateway's answer, not nginx's edge cache (which may serve a 1 s old copy on error)."""
    url = chaos_stack.nginx_url + "/api/bookings/properties"
    past_edge_cache = {"Cache-Control": "no-cache"}
    assert requests.get(url, headers=past_edge_cache, timeout=10).status_code == 200
    elapsed = []
    try:
        for instance in (0, 1):
            sigkill_instance(chaos_stack, "booking_service", instance)
        for _ in range(40):
            started = time.perf_counter()
            response = requests.get(url, headers=past_edge_cache, timeout=10)
            elapsed.append(time.perf_counter() - started)
            assert (response.status_code, response.json()) == (503, {"error": "Service unavailable"})
    finally:
        for instance in (0, 1):
            chaos_stack.start("booking_service", instance)
    back_at = time.monotonic()
    assert wait_until(lambda: _serves_n_times(url, 10), 15, 0.05)
    recovery = time.monotonic() - back_at
    ms = sorted(e * 1000 for e in elapsed)
    print(f"\n503 latency with all booking instances dead: p50 {statistics.median(ms):.1f} ms, "
          f"p90 {ms[int(len(ms) * 0.9)]:.1f} ms, max {ms[-1]:.1f} ms; recovery {recovery:.2f} s")  # fmt: skip
    # p50, not max: this shared 2-core box has scheduling outliers; bench/bench_gateway.py prints the rest.
    assert statistics.median(ms) < 50
    assert recovery <= 5.0


def _serves_n_times(url: str, n: int) -> bool:
    return all(requests.get(url, timeout=5).status_code == 200 for _ in range(n))
