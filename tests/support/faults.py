"""Fault-injection helpers on a private `infra.stack.Stack`, plus the table the chaos suite prints."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
import requests
from redis.cluster import ClusterNode, RedisCluster

from booking_service.cache import GENERATION_KEY, list_key
from infra.ports import port_in_use
from tests.conftest import start_private_stack, stop_private_stack
from tests.support.load import MixedLoad, Reconciliation, load_properties

REPORT_PATH = Path(__file__).resolve().parents[1] / "output" / "chaos_report.txt"
# A private chaos stack must not throttle its own load generator; the gateway's limits are tested
# in tests/security, and these only move the Redis-backed limits out of the way.
UNTHROTTLED_ENV = {"RATE_LIMIT": "100000/minute", "USER_RATE_LIMIT": "100000/minute"}


def serves_api(stack) -> bool:
    """Both gateways see healthy upstreams (their health checkers start on first use)."""
    for i in (0, 1):
        if requests.get(stack.url("gateway", i) + "/ready", timeout=2).status_code != 200:
            return False
    return requests.get(stack.nginx_url + "/api/users/profile", timeout=2).status_code == 401


def start_unthrottled_stack(prefix: str):
    """A private stack whose gateways do not rate-limit the suite's own traffic, serving the API."""
    stack, _ = start_private_stack(prefix, with_services=False)
    try:
        stack.env.update(UNTHROTTLED_ENV)
        stack.up()
        assert wait_until(lambda: serves_api(stack), 30), "the private stack never served the API"
    except BaseException:
        stop_private_stack(stack)
        raise
    return stack


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return True
        time.sleep(interval)
    return False


def sigkill_instance(stack, name: str, instance: int) -> None:
    """SIGKILL the instance's whole process group (master and workers), then wait for its port to free."""
    assert stack.pid(name, instance), f"{name}-{instance} has no pid"
    stack.kill(name, instance)
    port = stack.ports.services[name][instance]
    assert wait_until(lambda: not port_in_use(port), 10, 0.05), f"{name}-{instance} still holds {port}"


def answers(url: str, path: str = "/health", headers: dict[str, str] | None = None) -> bool:
    return requests.get(url + path, headers=headers or {}, timeout=2).status_code == 200


def cluster_ports(stack) -> list[int]:
    return [int(node.rsplit(":", 1)[1]) for node in stack.env["REDIS_CLUSTER_NODES"].split(",")]


def cluster_node(stack, port: int) -> redis.Redis:
    """A plain client of one cluster node, with the stack's password."""
    return redis.Redis(
        host="127.0.0.1", port=port, password=stack.env["REDIS_CLUSTER_PASSWORD"], socket_timeout=1
    )


def cluster_client(stack) -> RedisCluster:
    nodes = [ClusterNode("127.0.0.1", port) for port in cluster_ports(stack)]
    password = stack.env["REDIS_CLUSTER_PASSWORD"]
    return RedisCluster(startup_nodes=nodes, password=password, decode_responses=True, socket_timeout=1)


def cached_list_key(client: RedisCluster) -> str:
    """The key booking_service caches the property list under now (it moves with each generation)."""
    return list_key(client.get(GENERATION_KEY) or "0")


def list_is_cached(stack) -> bool:
    """Asks both booking_service instances for the list, then whether the cluster holds it."""
    for instance in (0, 1):
        requests.get(stack.url("booking_service", instance) + "/api/bookings/properties", timeout=5)
    client = cluster_client(stack)
    try:
        return client.exists(cached_list_key(client)) == 1
    finally:
        client.close()


def cached_list_master(stack) -> str:
    """The server name of the cluster master holding the cached property list (cached first)."""
    assert wait_until(lambda: list_is_cached(stack), 10), "the property list should be cached"
    client = cluster_client(stack)
    try:
        port = client.get_node_from_key(cached_list_key(client)).port
    finally:
        client.close()
    return f"redis_cluster_{cluster_ports(stack).index(port)}"


def cluster_ok(stack) -> bool:
    """cluster_state ok and every node connected."""
    client = cluster_node(stack, cluster_ports(stack)[0])
    try:
        info = client.execute_command("CLUSTER INFO")
        nodes = client.execute_command("CLUSTER NODES").values()
    finally:
        client.close()
    connected = [n for n in nodes if n["connected"] or "myself" in n["flags"]]
    return info["cluster_state"] == "ok" and len(connected) == len(cluster_ports(stack))


@dataclass(frozen=True)
class FaultRow:
    fault: str
    requests: int
    errors: dict[str, int]
    reconciliation: Reconciliation
    errors_for_s: float
    back_after_heal_s: float | None

    @classmethod
    def of(
        cls, fault: str, load: MixedLoad, rec: Reconciliation, fault_at: float, heal_s: float | None
    ) -> FaultRow:
        errors = dict(sorted(load.errors_by_kind().items()))
        return cls(fault, len(load.outcomes), errors, rec, load.errors_for(fault_at), heal_s)

    def line(self) -> str:
        rec = self.reconciliation
        errors = ", ".join(f"{k}×{v}" for k, v in self.errors.items()) or "none"
        heal = "-" if self.back_after_heal_s is None else f"{self.back_after_heal_s:.2f}"
        return (
            f"{self.fault:<34} {self.requests:>6} {rec.confirmed:>5} {len(rec.lost):>4} "
            f"{len(rec.duplicated):>4} {len(rec.unconfirmed):>5} {self.errors_for_s:>8.2f} {heal:>8}  {errors}"
        )


HEADER = (
    f"{'fault':<34} {'reqs':>6} {'201s':>5} {'lost':>4} {'dup':>4} {'no201':>5} "
    f"{'errors_s':>8} {'heal_s':>8}  errors by kind"
)


LEGEND = (
    "reqs: requests sent (retries included); 201s/lost/dup/no201: bookings confirmed, confirmed but missing "
    "from MariaDB, stored twice, stored without a 201; errors_s: fault -> end of the last failed request; "
    "heal_s: heal -> healthy again (restart included)"
)


def render(rows: list[FaultRow]) -> str:
    return "\n".join([HEADER, "-" * len(HEADER), *(row.line() for row in rows), LEGEND])


# Freeze scenarios (tests/chaos/test_freezes.py), one line each, printed under the fault table.
FREEZE_LINES: list[str] = []


def publish(rows: list[FaultRow]) -> str:
    table = render(rows) if rows else ""
    if FREEZE_LINES:
        table += "\n\nFrozen, not dead (SIGSTOP, then SIGCONT):\n" + "\n".join(FREEZE_LINES)
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(table + "\n")
    return table


@dataclass
class FaultRun:
    load: MixedLoad
    fault_at: float
    healed_at: float
    back_after_heal_s: float | None


def run_fault(
    stack,
    users,
    inject: Callable[[], None],
    heal: Callable[[], None],
    *,
    before: float = 3.0,
    during: float = 5.0,
    after: float = 4.0,
    healthy: Callable[[], bool] | None = None,
) -> FaultRun:
    """Steady load; inject after `before` s; heal after `during` s; keep loading until `healthy()` (if
    given) and then `after` s more. The heal is in a `finally`: a failing test never leaves a broken stack."""
    back: float | None = None
    with MixedLoad(stack.nginx_url, users, load_properties(stack.env["BOOKING_DB_URL"])) as load:
        time.sleep(before)
        fault_at = time.monotonic()
        try:
            inject()
            time.sleep(during)
        finally:
            healed_at = time.monotonic()
            heal()
        if healthy is not None and wait_until(healthy, 30, 0.05):
            back = time.monotonic() - healed_at
        time.sleep(after)
    return FaultRun(load, fault_at, healed_at, back)
