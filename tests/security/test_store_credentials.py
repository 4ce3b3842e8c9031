"""Every store of a real stack refuses a client without its password (issue #15 item 8), and the stack,
whose services carry the passwords, still serves logins and bookings."""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from tests.support.data import day

POSTGRES = [("postgres_primary", "users"), ("postgres_replica", "users"), ("warehouse", "warehouse")]
NO_RETRY = Retry(NoBackoff(), 0)  # a refusal is the answer, not a fault to retry
SECRET_FILES = ("postgres_password", "redis_password", "mariadb_password")


@pytest.fixture(autouse=True)
def no_ambient_postgres_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq would otherwise take a password from the environment or ~/.pgpass."""
    for name in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", "/dev/null")


def pg_port(stack, server: str) -> int:
    return {"postgres_primary": stack.ports.postgres_primary, "postgres_replica": stack.ports.postgres_replica,
            "warehouse": stack.ports.warehouse}[server]  # fmt: skip


def pg_attempt(stack, server: str, dbname: str, **extra: str) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1",
        port=pg_port(stack, server),
        user="postgres",
        dbname=dbname,
        connect_timeout=3,
        **extra,
    )


@pytest.mark.parametrize(("server", "dbname"), POSTGRES)
def test_postgres_over_tcp_without_a_password_is_refused(sec_stack, server: str, dbname: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        pg_attempt(sec_stack, server, dbname).close()


@pytest.mark.parametrize(("server", "dbname"), POSTGRES)
def test_postgres_with_a_wrong_password_is_refused(sec_stack, server: str, dbname: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        pg_attempt(sec_stack, server, dbname, password="not-the-password").close()


@pytest.mark.parametrize(("server", "dbname"), POSTGRES)
def test_postgres_with_the_stack_password_is_accepted(sec_stack, server: str, dbname: str) -> None:
    with pg_attempt(sec_stack, server, dbname, password=sec_stack.credentials.postgres_password) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_postgres_replication_connection_without_a_password_is_refused(sec_stack) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        pg_attempt(sec_stack, "postgres_primary", "users", replication="true").close()


def redis_ports(stack) -> list[tuple[str, int]]:
    return [("redis", stack.ports.redis)] + [
        (f"redis_cluster_{i}", p) for i, p in enumerate(stack.ports.cluster)
    ]


@pytest.mark.parametrize("index", range(7), ids=lambda i: "standalone" if i == 0 else f"cluster-node-{i - 1}")
def test_redis_without_or_with_a_wrong_password_is_refused(sec_stack, index: int) -> None:
    _, port = redis_ports(sec_stack)[index]
    for password in (None, "not-the-password"):
        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=2, retry=NO_RETRY)
        with pytest.raises(redis.AuthenticationError):
            client.get("anything")
        client.close()
    trusted = redis.Redis(
        host="127.0.0.1", port=port, password=sec_stack.credentials.redis_password, socket_timeout=2
    )
    assert trusted.ping()
    trusted.close()


def test_redis_cluster_client_without_the_password_cannot_start(sec_stack) -> None:
    nodes = [ClusterNode("127.0.0.1", port) for port in sec_stack.ports.cluster]
    # redis-py 7 says "Authentication required"; 8, which opens with HELLO, says HELLO needs authentication.
    with pytest.raises(
        RedisClusterException,
        match=r"Authentication required|HELLO must be called with the client already authenticated",
    ):
        RedisCluster(startup_nodes=nodes, socket_timeout=2).get("anything")


def test_store_passwords_are_in_no_process_command_line(sec_stack) -> None:
    secrets = [getattr(sec_stack.credentials, name) for name in SECRET_FILES]
    leaks = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended meanwhile
        leaks += [f"{cmdline.parent.name}: {argv[:80]}" for secret in secrets if secret in argv]
    assert leaks == []


def test_store_password_files_are_private_to_their_owner(sec_stack) -> None:
    modes = {name: stat.S_IMODE((sec_stack.root / name).stat().st_mode) for name in SECRET_FILES}
    assert modes == dict.fromkeys(SECRET_FILES, 0o600)
    conf = sec_stack.data / "redis" / "redis.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600


def test_stack_with_password_protected_stores_serves_a_login_and_a_booking(
    sec_stack, new_account, own_property
) -> None:
    account = new_account()  # registered (PostgreSQL primary) and logged in through nginx
    body = {"userId": account.id, "propertyId": own_property, "startDate": day(30), "endDate": day(32)}
    booked = requests.post(
        sec_stack.nginx_url + "/api/bookings/book", json=body, headers=account.auth, timeout=10
    )
    assert booked.status_code == 201, booked.text
    listed = requests.get(
        sec_stack.nginx_url + "/api/bookings/properties", timeout=10
    )  # the cached read path
    assert listed.status_code == 200, listed.text
    ready = requests.get(sec_stack.url("booking_service") + "/ready", timeout=5)
    assert ready.json()["checks"]["redis_cluster"] == "ok", ready.text
