"""The local stack launcher against real servers: replication, Redis Cluster, MariaDB, nginx, timings."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
import redis

from infra.ports import PortInUse
from infra.postgres import pg_connect
from infra.procs import alive, wait_for
from infra.stack import Stack
from tests.conftest import start_private_stack, stop_private_stack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Stack, dict[str, float]]]:
    """A stack of servers only (no Python services), started and stopped by this module."""
    stack, timings = start_private_stack("hrp-launcher-", with_services=False)
    yield stack, timings
    stack.down()


def test_full_server_stack_starts_in_under_15_seconds(servers: tuple[Stack, dict[str, float]]) -> None:
    stack, timings = servers
    print(f"\n[launcher] all servers up in {timings['infrastructure_s']:.2f}s")
    assert timings["infrastructure_s"] < 15
    assert all(stack.status().values())
    assert len(stack.status()) == 12  # 3 postgres, mariadb, 6 cluster nodes, redis, nginx


def replica_has(replica: object, marker: str) -> bool:
    return replica.execute("select 1 from launcher_probe where marker = %s", (marker,)).fetchone() is not None


def test_row_written_on_primary_is_readable_on_replica(servers: tuple[Stack, dict[str, float]]) -> None:
    stack, _ = servers
    marker = uuid.uuid4().hex
    with (
        pg_connect(stack.ports.postgres_primary, stack.credentials.postgres_password, "users") as primary,
        pg_connect(stack.ports.postgres_replica, stack.credentials.postgres_password, "users") as replica,
    ):
        primary.execute("create table if not exists launcher_probe (marker text primary key)")
        assert wait_for(lambda: replica.execute("select to_regclass('launcher_probe')").fetchone()[0], 5)
        primary.execute("insert into launcher_probe values (%s)", (marker,))
        written = time.perf_counter()
        found = wait_for(lambda: replica_has(replica, marker), 5, interval=0.0002)
        lag_ms = (time.perf_counter() - written) * 1000
        assert replica.execute("select pg_is_in_recovery()").fetchone()[0] is True
    print(f"\n[launcher] replica lag observed: {lag_ms:.2f} ms")
    assert found, "row never reached the replica"


def test_redis_cluster_has_three_masters_each_with_one_replica(
    servers: tuple[Stack, dict[str, float]],
) -> None:
    stack, _ = servers
    node = redis.Redis(
        host="127.0.0.1",
        port=stack.ports.cluster[0],
        password=stack.credentials.redis_password,
        decode_responses=True,
    )
    info = node.execute_command("CLUSTER INFO")
    assert info["cluster_state"] == "ok"
    nodes = node.execute_command("CLUSTER NODES").values()
    masters = [n for n in nodes if "master" in n["flags"]]
    replicas = [n for n in nodes if "slave" in n["flags"]]
    assert len(masters) == 3 and len(replicas) == 3
    assert sorted(r["master_id"] for r in replicas) == sorted(m["node_id"] for m in masters)


def test_key_set_through_cluster_client_is_readable(servers: tuple[Stack, dict[str, float]]) -> None:
    stack, _ = servers
    client = redis.RedisCluster(
        host="127.0.0.1",
        port=stack.ports.cluster[0],
        password=stack.credentials.redis_password,
        decode_responses=True,
    )
    keys = {f"probe:{i}:{uuid.uuid4().hex}": str(i) for i in range(20)}
    for key, value in keys.items():
        client.set(key, value)
    assert {key: client.get(key) for key in keys} == keys
    client.close()


def test_mariadb_accepts_the_app_user(servers: tuple[Stack, dict[str, float]]) -> None:
    stack, _ = servers
    conn = pymysql.connect(
        host="127.0.0.1",
        port=stack.ports.mariadb,
        user="app",
        password=stack.credentials.mariadb_password,
        database="bookings",
        ssl_disabled=True,
    )
    with conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER(), @@version")
        user, version = cur.fetchone()
    assert user.startswith("app@") and "MariaDB" in version


def test_nginx_answers(servers: tuple[Stack, dict[str, float]]) -> None:
    stack, _ = servers
    with urllib.request.urlopen(f"{stack.nginx_url}/nginx-health", timeout=2) as response:
        assert response.status == 200
        assert response.read() == b'{"status":"ok"}'


def test_second_stack_on_same_ports_fails_fast_naming_the_port(
    servers: tuple[Stack, dict[str, float]], tmp_path: Path
) -> None:
    stack, _ = servers
    second = Stack(tmp_path / "second", stack.ports, env_name="test")
    started = time.monotonic()
    with pytest.raises(
        PortInUse, match=rf"port {stack.ports.nginx_http} is already in use \(wanted by nginx"
    ):
        second.up(with_services=False)
    assert time.monotonic() - started < 2
    assert not any(second.status().values()), "a failed start left processes running"


def test_stop_is_fast_and_leaves_no_process_behind(tmp_path: Path) -> None:
    stack, _ = start_private_stack("hrp-stop-", with_services=False)
    pids = [stack.pid(name) for name in stack.status()]
    elapsed = stop_private_stack(stack)
    print(f"\n[launcher] stop took {elapsed:.2f}s")
    assert elapsed < 5
    assert pids and not any(alive(pid) for pid in pids if pid)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(stack.root) not in ps


def test_stop_with_nothing_running_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.stack", "down", "--root", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0
    assert "nothing running" in result.stdout
