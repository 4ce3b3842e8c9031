"""Recipes for the PostgreSQL servers of a stack: a primary (users; the warehouse is another) and a
streaming replica made with pg_basebackup, every TCP connection password-checked."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import psycopg

from infra.procs import StartupError, own_by, run
from infra.servers import Server

PG_BIN = Path("/usr/lib/postgresql/15/bin")


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
PG_HBA = """# written by infra/postgres.py: every TCP connection needs the password
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
