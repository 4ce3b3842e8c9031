"""Booking service under infrastructure faults: a Redis Cluster master killed mid-load, all Redis
stopped, MariaDB stopped. Real servers on the module's private `chaos_stack` (faults never hit the
shared session stack); nothing is mocked."""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.client_load import ClientLoop
from tests.support.data import booking_engine, day, insert_property
from tests.support.faults import (
    cached_list_key,
    cluster_client,
    cluster_node,
    cluster_ok,
    cluster_ports,
    list_is_cached,
    wait_until,
)

PROPERTIES = "/api/bookings/properties"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(chaos_stack):
    return chaos_stack


def read_loop(stack, clients: int = 4) -> ClientLoop:
    """Reads the property list from both instances in turn until the `with` block ends; a 200 that is
    not the list counts as a failure (status 0)."""
    urls = [stack.url("booking_service", i) + PROPERTIES for i in (0, 1)]
    turns = itertools.count()

    def read(session: requests.Session, _client: int) -> int:
        response = session.get(urls[next(turns) % 2], timeout=5)
        if response.status_code == 200 and response.json()[0]["propertyId"] != 1:
            return 0
        return response.status_code

    return ClientLoop(read, clients)


def failed_over(stack, victim_port: int) -> bool:
    """Another node marks the victim failed and reports the cluster ok: a replica took its slots."""
    client = cluster_node(stack, next(p for p in cluster_ports(stack) if p != victim_port))
    try:
        info = client.execute_command("CLUSTER INFO")
        nodes = client.execute_command("CLUSTER NODES")
    finally:
        client.close()
    victim = [n for address, n in nodes.items() if address.split("@")[0].endswith(f":{victim_port}")]
    return info["cluster_state"] == "ok" and bool(victim) and "fail" in victim[0]["flags"].split(",")


def test_killing_the_cluster_master_holding_the_cache_fails_no_read(stack):
    assert wait_until(lambda: list_is_cached(stack), 10), "the list should be cached before the fault"
    client = cluster_client(stack)
    victim_port = client.get_node_from_key(cached_list_key(client)).port
    client.close()
    victim = f"redis_cluster_{cluster_ports(stack).index(victim_port)}"
    with read_loop(stack) as loop:
        assert wait_until(lambda: loop.successes() > 20, 10), "reads should flow before the fault"
        stack.stop_server(victim)
        assert wait_until(lambda: failed_over(stack, victim_port), 20), "a replica should take over"
        after_failover = loop.successes()
        assert wait_until(lambda: loop.successes() > after_failover + 20, 10), "reads should flow after it"
    stack.start_server(victim)
    assert loop.failures() == []
    assert wait_until(lambda: cluster_ok(stack), 30)
    assert wait_until(lambda: list_is_cached(stack), 10), "the cache should be used again after failover"


def test_all_redis_stopped_reads_and_bookings_still_work(stack):
    names = [f"redis_cluster_{i}" for i in range(len(cluster_ports(stack)))] + ["redis"]
    property_id = insert_property(booking_engine(stack), "Chaos, NR", 90, "no-redis")  # nothing booked yet
    for name in names:
        stack.stop_server(name)
    try:
        with read_loop(stack, clients=2) as loop:
            assert wait_until(lambda: loop.successes() > 10 or bool(loop.failures()), 10)
        assert loop.failures() == []
        user_id = 700_000 + uuid.uuid4().int % 100_000
        body = {"userId": user_id, "propertyId": property_id, "startDate": day(400), "endDate": day(401)}
        headers = {"Authorization": f"Bearer {stack.token(user_id)}"}
        url = stack.url("booking_service", 0) + "/api/bookings/book"
        booked = requests.post(url, json=body, headers=headers, timeout=10)
        assert booked.status_code == 201, booked.text
    finally:
        for name in names:
            stack.start_server(name)
    assert wait_until(lambda: cluster_ok(stack), 30), "the cluster should heal once its nodes are back"
    assert wait_until(lambda: list_is_cached(stack), 15), "the cache should be used again"


def test_mariadb_stopped_gives_fast_503_then_recovers(stack):
    base = stack.url("booking_service", 0)
    user_id = 424_242
    token = {"Authorization": f"Bearer {stack.token(user_id)}"}
    start = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    booking = {"userId": user_id, "propertyId": 4, "startDate": start.isoformat(),
               "endDate": (start + dt.timedelta(days=2)).isoformat()}  # fmt: skip
    window = f"?from={start + dt.timedelta(days=1)}&to={start + dt.timedelta(days=2)}"
    calls = [
        ("GET", "/api/bookings/booking/1", None),
        ("GET", PROPERTIES + window, None),
        ("POST", "/api/bookings/book", booking),
        ("DELETE", "/api/cancel-booking/1", None),
    ]
    stack.stop_server("mariadb")
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:  # several at once: no worker may hang
            results = list(pool.map(lambda call: timed(base, token, *call), calls * 2))
        for status, body, elapsed in results:
            assert status == 503, body
            assert body == {"error": "Service unavailable"}
            assert elapsed < 2.0, f"took {elapsed:.2f}s"
        assert requests.get(base + "/ready", timeout=5).status_code == 503
    finally:
        stack.start_server("mariadb")
    assert wait_until(lambda: requests.get(base + "/ready", timeout=5).status_code == 200, 20)
    response = requests.post(base + "/api/bookings/book", json=booking, headers=token, timeout=5)
    assert response.status_code == 201, response.text


def timed(base: str, headers: dict, method: str, path: str, body: dict | None) -> tuple[int, object, float]:
    started = time.monotonic()
    response = requests.request(method, base + path, json=body, headers=headers, timeout=10)
    return response.status_code, response.json(), time.monotonic() - started
