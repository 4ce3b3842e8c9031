"""Recipes for the real servers of a stack: PostgreSQL (+ replica), MariaDB, Redis (+ cluster), nginx."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pymysql
import redis

from infra.nginx_conf import NGINX_WORKER_USER
from infra.procs import StartupError, own_by, run, running_as_root

PG_BIN = Path("/usr/lib/postgresql/15/bin")
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


def pg_binary(name: str) -> str:
    candidate = PG_BIN / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def pg_connect(port: int, password: str, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        user="postgres",
        password=password,
        dbname=dbname,
        connect_timeout=2,
        autocommit=True,
    )


def pg_accepts(port: int, password: str) -> bool:
    with pg_connect(port, password) as conn:
        conn.execute("select 1")
    return True


# TCP always takes the password; the unix socket (in the data dir, which only postgres can enter)
# allows the postgres OS user alone, by peer; the launcher itself only ever connects over TCP.
PG_HBA = """# written by infra/servers.py: every TCP connection needs the password
local all postgres peer
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
"""


def refuse_passwordless_data(data: Path) -> None:
    """A data dir made before passwords were required (trust on TCP) cannot be reused as is."""
    if (data / "PG_VERSION").exists() and "scram-sha-256" not in (data / "pg_hba.conf").read_text():
        raise StartupError(f"{data} was created without a password; remove it (`make clean`) and start again")


def configure_postgres(data: Path, port: int) -> None:
    extra = f"""
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{data}'
wal_level = replica
max_wal_senders = 10
hot_standby = on
fsync = off
full_page_writes = off
synchronous_commit = on
max_connections = 300
shared_buffers = 64MB
log_min_messages = warning
"""
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(extra)
    (data / "pg_hba.conf").write_text(PG_HBA)


def initdb(data: Path, password: str) -> None:
    """A new cluster whose `postgres` role has `password` (handed over in a file only postgres can read)."""
    pwfile = data.parent / f".{data.name}.pwfile"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    own_by(pwfile, "postgres")
    try:
        run(
            [
                pg_binary("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            user="postgres",
        )
    finally:
        pwfile.unlink(missing_ok=True)


def postgres(name: str, data: Path, port: int, databases: tuple[str, ...], password: str) -> Server:
    def prepare() -> None:
        refuse_passwordless_data(data)
        if (data / "PG_VERSION").exists():
            return
        data.mkdir(parents=True, exist_ok=True)
        own_by(data, "postgres")
        initdb(data, password)
        configure_postgres(data, port)

    def create_databases() -> None:
        with pg_connect(port, password) as conn:
            existing = {row[0] for row in conn.execute("select datname from pg_database")}
            for database in databases:
                if database not in existing:
                    conn.execute(f'create database "{database}"')

    return Server(
        name,
        [pg_binary("postgres"), "-D", str(data)],
        lambda: pg_accepts(port, password),
        prepare,
        create_databases,
        user="postgres",
        stop_signal=signal.SIGINT,
    )


def postgres_replica(name: str, data: Path, port: int, primary_port: int, password: str) -> Server:
    def prepare() -> None:
        refuse_passwordless_data(data)
        if (data / "PG_VERSION").exists():
            return
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        data.chmod(0o700)
        own_by(data, "postgres")
        run(
            [
                pg_binary("pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary_port),
                "-U",
                "postgres",
                "-D",
                str(data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
            user="postgres",
            env={**os.environ, "PGPASSWORD": password},
        )
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {port}\nunix_socket_directories = '{data}'\n")

    def streaming() -> bool:
        with pg_connect(port, password) as conn:
            row = conn.execute("select status from pg_stat_wal_receiver").fetchone()
        return row is not None and row[0] == "streaming"

    return Server(
        name,
        [pg_binary("postgres"), "-D", str(data)],
        streaming,
        prepare,
        user="postgres",
        stop_signal=signal.SIGINT,
    )


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
