"""Booking service under infrastructure faults: a Redis Cluster master killed mid-load, all Redis
stopped, MariaDB stopped. Real servers on the module's private `chaos_stack` (faults never hit the
shared session stack); nothing is mocked."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from redis.cluster import ClusterNode, RedisCluster

from booking_service.cache import GENERATION_KEY, list_key
from tests.support.faults import cluster_node

PROPERTIES = "/api/bookings/properties"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(chaos_stack):
    return chaos_stack


def cluster_ports(stack) -> list[int]:
    return [int(node.rsplit(":", 1)[1]) for node in stack.env["REDIS_CLUSTER_NODES"].split(",")]


def cluster_client(stack) -> RedisCluster:
    nodes = [ClusterNode("127.0.0.1", port) for port in cluster_ports(stack)]
    password = stack.env["REDIS_CLUSTER_PASSWORD"]
    return RedisCluster(startup_nodes=nodes, password=password, decode_responses=True, socket_timeout=1)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except (redis.RedisError, OSError, requests.RequestException):
            pass
        time.sleep(0.2)
    return False


def cluster_ok(stack) -> bool:
    client = cluster_node(stack, cluster_ports(stack)[0])
    info = client.execute_command("CLUSTER INFO")
    nodes = client.execute_command("CLUSTER NODES").values()
    connected = [n for n in nodes if n["connected"] or "myself" in n["flags"]]
    return info["cluster_state"] == "ok" and len(connected) == len(cluster_ports(stack))


def cached_lists_key(client: RedisCluster) -> str:
    return list_key(client.get(GENERATION_KEY) or "0")


def list_is_cached(stack) -> bool:
    for instance in (0, 1):
        requests.get(stack.url("booking_service", instance) + PROPERTIES, timeout=5)
    client = cluster_client(stack)
    try:
        return client.exists(cached_lists_key(client)) == 1
    finally:
        client.close()


class ReadLoop:
    """Reads the property list from both instances until stopped, recording every failure."""

    def __init__(self, stack, threads: int = 4) -> None:
        self.urls = [stack.url("booking_service", i) + PROPERTIES for i in (0, 1)]
        self.ok = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, index: int) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            url = self.urls[index % 2]
            index += 1
            try:
                response = session.get(url, timeout=5)
                if response.status_code == 200 and response.json()[0]["propertyId"] == 1:
                    self.ok += 1
                else:
                    self.failures.append(f"{response.status_code} {response.text[:80]}")
            except requests.RequestException as exc:
                self.failures.append(type(exc).__name__)

    def __enter__(self) -> ReadLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def test_killing_the_cluster_master_holding_the_cache_fails_no_read(stack):
    assert wait_until(lambda: list_is_cached(stack), 10), "the list should be cached before the fault"
    client = cluster_client(stack)
    victim_port = client.get_node_from_key(cached_lists_key(client)).port
    client.close()
    victim = f"redis_cluster_{cluster_ports(stack).index(victim_port)}"
    with ReadLoop(stack) as loop:
        time.sleep(1)
        stack.stop_server(victim)
        time.sleep(6)  # failover takes ~3 s at cluster-node-timeout 1000 ms
    stack.start_server(victim)
    assert loop.failures == []
    assert loop.ok > 50
    assert wait_until(lambda: cluster_ok(stack), 30)
    assert wait_until(lambda: list_is_cached(stack), 10), "the cache should be used again after failover"


def test_all_redis_stopped_reads_and_bookings_still_work(stack):
    names = [f"redis_cluster_{i}" for i in range(len(cluster_ports(stack)))] + ["redis"]
    for name in names:
        stack.stop_server(name)
    try:
        with ReadLoop(stack, threads=2) as loop:
            time.sleep(3)
        assert loop.failures == []
        assert loop.ok > 10
        start = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=400 + uuid.uuid4().int % 300)
        user_id = 700_000 + uuid.uuid4().int % 100_000
        body = {"userId": user_id, "propertyId": 3, "startDate": start.isoformat(),
                "endDate": (start + dt.timedelta(days=1)).isoformat()}  # fmt: skip
        headers = {"Authorization": f"Bearer {stack.token(user_id)}"}
        url = stack.url("booking_service", 0) + "/api/bookings/book"
        assert requests.post(url, json=body, headers=headers, timeout=10).status_code in (201, 409)
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
