"""The compose init scripts run for real against real PostgreSQL and Redis servers (no Docker).

`primary-init.sh` and `replica-entrypoint.sh` are the files compose mounts; the replica script's two
image tools are replaced by shims on PATH: `gosu` (runuser) and `docker-entrypoint.sh` (records its
arguments). pg_hba's loopback replication lines are removed so the replica must authenticate the way
a container on the compose network does, through the line the init script adds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.support import composefile
from tests.support.faults import wait_until
from tests.support.net import free_ports

SCRIPTS = composefile.REPO_ROOT / "infra" / "docker"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLUSTER_PASSWORD = "cluster-test-password"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs servers as the postgres user")


def as_postgres(*argv: str) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], cwd="/", check=True, capture_output=True, timeout=60
    )


def start_postgres(data: Path, port: int) -> subprocess.Popen[bytes]:
    argv = [str(PG_BIN / "postgres"), "-D", str(data), "-c", f"port={port}", "-c", "listen_addresses=127.0.0.1",
            "-c", f"unix_socket_directories={data}", "-c", "fsync=off"]  # fmt: skip
    server = subprocess.Popen(["runuser", "-u", "postgres", "--", *argv], cwd="/", stderr=subprocess.DEVNULL)
    dsn = {"host": str(data), "port": port, "user": "postgres", "dbname": "postgres"}
    assert wait_until(lambda: psycopg.connect(**dsn).close() is None, 20, 0.1), "postgres did not start"
    return server


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture()
def workdir() -> Iterator[Path]:
    """pytest's tmp_path is private to root; the postgres user must reach these directories."""
    directory = Path(tempfile.mkdtemp(prefix="hrp-compose-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture()
def primary(workdir: Path) -> Iterator[tuple[Path, int]]:
    data, (port,) = workdir / "primary", free_ports(1)
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                "--auth-host=scram-sha-256", "--no-sync")  # fmt: skip
    hba = data / "pg_hba.conf"
    hba.write_text("".join(line for line in hba.read_text().splitlines(True) if "replication" not in line))
    server = start_postgres(data, port)
    yield data, port
    stop(server)


def run_primary_init(data: Path, port: int, password: str) -> None:
    env = {**os.environ, "PGHOST": str(data), "PGPORT": str(port), "PGDATA": str(data),
           "POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres", "REPLICATION_PASSWORD": password}  # fmt: skip
    subprocess.run(["sh", str(SCRIPTS / "postgres/primary-init.sh")], env=env, check=True, timeout=60)
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "reload")


def shims(directory: Path) -> Path:
    directory.mkdir()
    (directory / "gosu").write_text('#!/bin/sh\nuser="$1"; shift\nexec runuser -u "$user" -- "$@"\n')
    (directory / "docker-entrypoint.sh").write_text(f'#!/bin/sh\necho "$@" > {directory}/handed-over\n')
    for shim in directory.iterdir():
        shim.chmod(0o755)
    return directory


def test_replica_script_clones_the_primary_with_the_init_scripts_role(
    primary: tuple[Path, int], workdir: Path
) -> None:
    data, port = primary
    with psycopg.connect(
        host=str(data), port=port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute("CREATE TABLE marker (note text)")
        conn.execute("INSERT INTO marker VALUES ('from the primary')")
    run_primary_init(data, port, "s3cret-repl")
    bin_dir = shims(workdir / "shims")
    replica, (replica_port,) = workdir / "replica", free_ports(1)
    env = {**os.environ, "PATH": f"{bin_dir}:{PG_BIN}:{os.environ['PATH']}", "PGDATA": str(replica),
           "PRIMARY_HOST": "127.0.0.1", "PRIMARY_PORT": str(port), "REPLICATION_PASSWORD": "s3cret-repl"}  # fmt: skip
    subprocess.run(["bash", str(SCRIPTS / "postgres/replica-entrypoint.sh")], env=env, check=True, timeout=120,
                   capture_output=True)  # fmt: skip
    assert (bin_dir / "handed-over").read_text().split() == ["postgres", "-c", "hot_standby=on"]
    assert (replica / "standby.signal").exists()
    server = start_postgres(replica, replica_port)
    try:
        with psycopg.connect(
            host=str(replica), port=replica_port, user="postgres", dbname="postgres"
        ) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            assert conn.execute("SELECT note FROM marker").fetchone() == ("from the primary",)
    finally:
        stop(server)


def test_replication_role_refuses_a_wrong_password(primary: tuple[Path, int], tmp_path: Path) -> None:
    data, port = primary
    run_primary_init(data, port, "right-password")
    target = tmp_path / "clone"
    result = subprocess.run(
        [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(port), "-U", "replicator", "-D", str(target),
         "-w"],
        env={**os.environ, "PGPASSWORD": "wrong-password"}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "password authentication failed" in result.stderr


@pytest.fixture()
def redis_nodes(tmp_path: Path) -> Iterator[list[int]]:
    ports = free_ports(12)
    nodes, processes = ports[:6], []
    auth = tmp_path / "auth.conf"  # as in compose: the password in a config file, not in argv
    auth.write_text(f"requirepass {CLUSTER_PASSWORD}\nmasterauth {CLUSTER_PASSWORD}\n")
    for port, bus in zip(nodes, ports[6:], strict=True):
        argv = ["redis-server", str(auth), "--bind", "127.0.0.1", "--port", str(port), "--cluster-enabled", "yes",
                "--cluster-port", str(bus), "--cluster-config-file", f"nodes-{port}.conf", "--save", "",
                "--appendonly", "no", "--dir", str(tmp_path), "--cluster-node-timeout", "2000",
                # as in compose: nodes announce a hostname, not an address
                "--cluster-preferred-endpoint-type", "hostname", "--cluster-announce-hostname", "localhost"]  # fmt: skip
        processes.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
    for port in nodes:
        assert wait_until(lambda port=port: node(port).ping(), 20, 0.1), f"redis {port} did not start"
    yield nodes
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=20)


def node(port: int) -> redis.Redis:
    return redis.Redis(port=port, password=CLUSTER_PASSWORD, decode_responses=True)


def test_cluster_job_creates_the_cluster_once_and_is_idempotent(redis_nodes: list[int]) -> None:
    nodes = ",".join(f"localhost:{port}" for port in redis_nodes)
    env = {**os.environ, "REDIS_CLUSTER_NODES": nodes, "REDISCLI_AUTH": CLUSTER_PASSWORD}
    script = str(SCRIPTS / "redis/cluster-create.sh")
    first = subprocess.run(["sh", script], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    info = node(redis_nodes[0]).execute_command("CLUSTER INFO")
    assert (str(info["cluster_state"]), str(info["cluster_size"])) == ("ok", "3")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=redis_nodes[0]).ping()
    again = subprocess.run(["sh", script], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "already created" in again.stdout
    slots = node(redis_nodes[0]).execute_command("CLUSTER SLOTS")
    endpoints = {str(entry[2][0]) for entry in slots}  # [start, end, [endpoint, port, id, ...], replicas...]
    assert endpoints == {"localhost"}, f"clients must be sent to hostnames, got {endpoints}"
    cluster = redis.RedisCluster(
        host="localhost", port=redis_nodes[0], password=CLUSTER_PASSWORD, decode_responses=True
    )
    try:
        for i in range(50):  # keys spread over every master's slots
            cluster.set(f"k{i}", str(i))
        assert [cluster.get(f"k{i}") for i in range(50)] == [str(i) for i in range(50)]
    finally:
        cluster.close()
