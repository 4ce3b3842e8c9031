"""Recipes for the real servers of a stack: MariaDB, Redis (+ cluster), nginx; PostgreSQL's are in
infra/postgres.py. Each is a `Server`: how to prepare its data, start it and know it is ready."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
import redis

from infra.nginx_conf import NGINX_WORKER_USER
from infra.procs import StartupError, own_by, run, running_as_root

MARIADB_APP_USER = "app"
MARIADB_DATABASE = "bookings"


@dataclass
class Server:
    """One server process: how to prepare its data, start it and know it is ready."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    prepare: Callable[[], None] = lambda: None
    after_start: Callable[[], None] = lambda: None
    user: str | None = None
    stop_signal: int = signal.SIGTERM
    env: dict[str, str] = field(default_factory=dict)


def mariadb_root(socket_path: Path) -> pymysql.Connection:
    return pymysql.connect(unix_socket=str(socket_path), user="root", connect_timeout=2, autocommit=True)


def mariadb(data: Path, port: int, app_password: str) -> Server:
    socket_path = data / "mysqld.sock"
    # A private tmpdir: concurrent stacks sharing /tmp make mariadb-install-db fail intermittently.
    tmpdir = data.parent / "mariadb_tmp"
    user = "mysql" if running_as_root() else None

    def prepare() -> None:
        tmpdir.mkdir(parents=True, exist_ok=True)
        if user:
            own_by(tmpdir, user)
        if (data / "mysql").exists():
            return
        data.mkdir(parents=True, exist_ok=True)
        if user:
            own_by(data, user)
        argv = [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={data}",
            f"--tmpdir={tmpdir}",
            "--skip-test-db",
            "--auth-root-authentication-method=socket",
        ]
        run([*argv, f"--user={user}"] if user else argv, timeout=180)

    def create_app_user() -> None:
        with mariadb_root(socket_path) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{MARIADB_DATABASE}` CHARACTER SET utf8mb4")
            for host in ("127.0.0.1", "localhost"):
                cur.execute(
                    f"CREATE USER IF NOT EXISTS '{MARIADB_APP_USER}'@'{host}' IDENTIFIED BY %s",
                    (app_password,),
                )
                cur.execute(
                    f"GRANT ALL PRIVILEGES ON `{MARIADB_DATABASE}`.* TO '{MARIADB_APP_USER}'@'{host}'"
                )

    def accepts() -> bool:
        with mariadb_root(socket_path) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
        return True

    argv = [
        "mariadbd",
        "--no-defaults",
        f"--tmpdir={tmpdir}",
        f"--datadir={data}",
        f"--socket={socket_path}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        "--skip-name-resolve",
        "--skip-log-bin",
        f"--pid-file={data}/mariadb.pid",
        "--innodb-buffer-pool-size=128M",
        "--innodb-flush-log-at-trx-commit=2",
        "--max-connections=500",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
    ]
    if user:
        argv.append(f"--user={user}")
    return Server("mariadb", argv, accepts, prepare, create_app_user)


def redis_server(name: str, data: Path, port: int, password: str, bus_port: int | None = None) -> Server:
    conf = data / "redis.conf"
    argv = [
        "redis-server",
        str(conf),  # holds the password, which is thus kept out of the command line
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data),
        "--protected-mode",
        "no",
        "--daemonize",
        "no",
    ]
    if bus_port is not None:
        argv += [
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            str(bus_port),
            "--cluster-node-timeout",
            "1000",
            "--cluster-config-file",
            f"nodes-{port}.conf",
            "--repl-diskless-sync",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
            "--cluster-replica-validity-factor",
            "0",
        ]

    def prepare() -> None:
        data.mkdir(parents=True, exist_ok=True)
        # masterauth: a replica (cluster nodes, after a failover any of them) authenticates to its master.
        conf.write_text(f"requirepass {password}\nmasterauth {password}\n")
        conf.chmod(0o600)

    def responds() -> bool:
        return bool(redis_client(port, password).ping())

    return Server(name, argv, responds, prepare)


def redis_client(port: int, password: str) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1)


def cluster_healthy(ports: tuple[int, ...], password: str) -> bool:
    """`cluster_state:ok` with 3 masters that each have one connected replica."""
    client = redis_client(ports[0], password)
    if client.execute_command("CLUSTER INFO").get("cluster_state") != "ok":
        return False
    nodes = client.execute_command("CLUSTER NODES")
    masters = [n for n in nodes.values() if "master" in n["flags"] and "fail" not in n["flags"]]
    replicas = [n for n in nodes.values() if "slave" in n["flags"] and n["connected"]]
    return len(masters) == 3 and len(replicas) == 3


def create_cluster(ports: tuple[int, ...], password: str) -> None:
    client = redis_client(ports[0], password)
    if int(client.execute_command("CLUSTER INFO").get("cluster_known_nodes", 1)) > 1:
        return
    nodes = [f"127.0.0.1:{port}" for port in ports]
    result = subprocess.run(
        ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "1", "--cluster-yes"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REDISCLI_AUTH": password},  # not `-a`: argv is visible to every user
    )
    if result.returncode != 0:
        raise StartupError(f"redis cluster create failed: {result.stdout[-500:]} {result.stderr[-500:]}")


def nginx(prefix: Path, conf: Path, port: int) -> Server:
    def answers() -> bool:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/nginx-health", timeout=1) as response:
            return response.status == 200

    def prepare() -> None:
        for sub in ("temp", "logs"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        # The edge cache is disposable, and a copy left by an earlier run may belong to another user.
        shutil.rmtree(prefix / "temp" / "edge_cache", ignore_errors=True)
        own_by(prefix / "temp", NGINX_WORKER_USER)

    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    return Server(
        "nginx",
        [
            binary,
            "-g",
            "daemon off;",
            "-p",
            str(prefix),
            "-c",
            str(conf),
            "-e",
            str(prefix / "logs" / "error.log"),
        ],
        answers,
        prepare,
        stop_signal=signal.SIGQUIT,
    )
