"""Databases and Redis failing under steady load through nginx: MariaDB, the PostgreSQL replica and
primary, a Redis Cluster master, every Redis at once, the standalone Redis behind Socket.IO, and the
ETL killed mid-run. Real servers on a private stack; nothing is mocked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.support.data import booking_engine, insert_property
from tests.support.faults import (
    FaultRow,
    answers,
    cached_list_master,
    cluster_ok,
    cluster_ports,
    run_fault,
    wait_until,
)
from tests.support.load import READ_KINDS, MixedLoad, load_properties, reconcile
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def booking_ready(stack) -> bool:
    return all(answers(stack.url("booking_service", i), "/ready") for i in (0, 1))


def record(stack, fault_rows, fault: str, run) -> object:
    rec = reconcile(stack.env["BOOKING_DB_URL"], run.load.bookings)
    fault_rows.append(FaultRow.of(fault, run.load, rec, run.fault_at, run.back_after_heal_s))
    assert rec.confirmed > 5, "the load should have booked before and after the fault"
    assert rec.clean, rec
    return rec


def test_mariadb_stopped_bookings_fail_fast_with_503_json_and_user_reads_keep_working(
    chaos_stack, load_users, fault_rows
):
    run = run_fault(
        chaos_stack,
        load_users,
        inject=lambda: chaos_stack.stop_server("mariadb"),
        heal=lambda: chaos_stack.start_server("mariadb"),
        healthy=lambda: booking_ready(chaos_stack),
    )
    record(chaos_stack, fault_rows, "stop MariaDB 5 s", run)
    load = run.load
    assert load.failures(("profile",)) == [], "user reads must not depend on MariaDB"
    failed_books = load.failures(("book",))
    assert failed_books, "bookings cannot succeed while MariaDB is down"
    assert {(o.status, o.json_body) for o in failed_books} == {(503, True)}
    assert max(o.elapsed for o in failed_books) < 2.0, "bookings must fail fast"
    assert run.back_after_heal_s is not None
    assert load.successes_after(run.healed_at + run.back_after_heal_s, ("book",)) > 0


def test_postgres_replica_stopped_user_reads_fall_back_to_the_primary(chaos_stack, load_users, fault_rows):
    run = run_fault(
        chaos_stack,
        load_users,
        inject=lambda: chaos_stack.stop_server("postgres_replica"),
        heal=lambda: chaos_stack.start_server("postgres_replica"),
        during=4,
    )
    record(chaos_stack, fault_rows, "stop PostgreSQL replica", run)
    assert run.load.failures() == []


def account(stack) -> dict[str, str]:
    name = f"pg{uuid.uuid4().hex[:10]}"
    creds = {"email": f"{name}@example.com", "password": "primary-down-1"}
    response = requests.post(
        stack.nginx_url + "/api/users/register", json={"username": name, **creds}, timeout=10
    )
    assert response.status_code == 201, response.text
    return creds


def test_postgres_primary_stopped_profiles_served_by_the_replica_and_registration_503(
    chaos_stack, load_users, fault_rows
):
    creds = account(chaos_stack)
    users = chaos_stack.nginx_url + "/api/users"
    during: dict[str, requests.Response] = {}
    assert wait_until(lambda: on_the_replica(chaos_stack, creds["email"]), 10)

    def inject() -> None:
        chaos_stack.stop_server("postgres_primary")
        new = {
            "username": f"pg{uuid.uuid4().hex[:10]}",
            "email": f"{uuid.uuid4().hex}@x.io",
            "password": "p" * 10,
        }
        during["register"] = requests.post(users + "/register", json=new, timeout=10)
        during["login"] = requests.post(users + "/login", json=creds, timeout=10)

    run = run_fault(
        chaos_stack,
        load_users,
        inject,
        heal=lambda: chaos_stack.start_server("postgres_primary"),
        during=3,
        healthy=lambda: requests.post(users + "/login", json=creds, timeout=5).status_code == 200,
    )
    record(chaos_stack, fault_rows, "stop PostgreSQL primary", run)
    print(f"\nlogin while the primary is down: {during['login'].status_code} {during['login'].text}")
    assert run.load.failures(("profile",)) == [], "profiles must be served by the replica"
    assert (during["register"].status_code, during["register"].json()) == (
        503,
        {"error": "Service unavailable"},
    )
    # Login reads the primary by design (a just-registered user must be able to log in) and a replica
    # while the primary is unreachable: the account is on the replica, so the login succeeds.
    assert during["login"].status_code == 200, during["login"].text
    assert run.back_after_heal_s is not None


def on_the_replica(stack, email: str) -> bool:
    replica = sa.create_engine(stack.env["USER_DB_REPLICA_URLS"])
    try:
        with replica.connect() as conn:
            return (
                conn.execute(sa.text("SELECT 1 FROM users WHERE email = :e"), {"e": email}).first()
                is not None
            )
    finally:
        replica.dispose()


def test_postgres_primary_stopped_login_is_served_by_the_replica(chaos_stack):
    creds = account(chaos_stack)
    assert wait_until(lambda: on_the_replica(chaos_stack, creds["email"]), 10)
    chaos_stack.stop_server("postgres_primary")
    try:
        response = requests.post(chaos_stack.nginx_url + "/api/users/login", json=creds, timeout=10)
    finally:
        chaos_stack.start_server("postgres_primary")
    assert response.status_code == 200, response.text


def test_redis_cluster_master_killed_cache_fails_over_and_every_request_succeeds(
    chaos_stack, load_users, fault_rows
):
    victim = cached_list_master(chaos_stack)
    run = run_fault(
        chaos_stack,
        load_users,
        inject=lambda: chaos_stack.kill_server(victim),
        heal=lambda: chaos_stack.start_server(victim),
        during=6,  # failover takes ~3 s at cluster-node-timeout 1000 ms
        healthy=lambda: cluster_ok(chaos_stack),
    )
    record(chaos_stack, fault_rows, f"SIGKILL {victim} (master)", run)
    assert run.load.server_errors(READ_KINDS) == []
    assert run.load.failures() == []
    assert run.back_after_heal_s is not None, "the cluster should heal once the node is back"


def all_redis(stack) -> list[str]:
    return [f"redis_cluster_{i}" for i in range(len(cluster_ports(stack)))] + ["redis"]


def test_every_redis_stopped_cache_and_rate_limits_degrade_requests_still_succeed(
    chaos_stack, load_users, fault_rows
):
    names = all_redis(chaos_stack)
    run = run_fault(
        chaos_stack,
        load_users,
        inject=lambda: [chaos_stack.stop_server(name) for name in names],
        heal=lambda: [chaos_stack.start_server(name) for name in names],
        during=4,
        healthy=lambda: cluster_ok(chaos_stack),
    )
    record(chaos_stack, fault_rows, "stop every Redis", run)
    assert run.load.failures() == []
    assert run.back_after_heal_s is not None


def subscribed(
    stack, instance: int, user_id: int, property_id: int, role: str = "user"
) -> NotificationClient:
    client = NotificationClient.connect(stack.url("booking_realtime", instance), stack.token(user_id, role))
    client.request("get-notification", {"property_id": property_id}, "notification_response")
    assert client.message("join-room", {"property_id": property_id}, "join_response").startswith("Connected")
    return client


def delivered(client: NotificationClient, update: str, timeout: float) -> bool:
    try:
        client.wait_for("notification_update", lambda data: data["update"] == update, timeout=timeout)
    except TimeoutError:
        return False
    return True


def test_standalone_redis_stopped_local_notifications_still_delivered_cross_instance_resumes(
    chaos_stack, load_users, fault_rows
):
    engine = booking_engine(chaos_stack)  # watching needs a property that exists
    property_id = insert_property(engine, "Chaos, RT", 80, "rt-faults")
    engine.dispose()
    local = subscribed(chaos_stack, 0, 800_001, property_id)
    remote = subscribed(chaos_stack, 1, 800_002, property_id)
    admin = NotificationClient.connect(chaos_stack.url("booking_realtime", 0), chaos_stack.token(1, "admin"))
    clients = (local, remote, admin)
    outcome: dict[str, bool] = {}

    def broadcast(update: str) -> None:
        admin.sio.emit("broadcast_notification", {"property_id": property_id, "notification": update})

    def inject() -> None:
        chaos_stack.stop_server("redis")
        broadcast("while-down")
        outcome["local"] = delivered(local, "while-down", 5)

    def remote_delivery_back() -> bool:
        update = f"after-{uuid.uuid4().hex[:6]}"
        broadcast(update)
        return delivered(remote, update, 0.5)

    try:
        broadcast("before")
        assert delivered(local, "before", 5) and delivered(remote, "before", 5)
        run = run_fault(
            chaos_stack,
            load_users,
            inject,
            heal=lambda: chaos_stack.start_server("redis"),
            during=1,
            after=1,
            healthy=remote_delivery_back,
        )
    finally:
        for client in clients:
            client.close()
    record(chaos_stack, fault_rows, "stop standalone Redis (Socket.IO)", run)
    assert outcome["local"], "a broadcast must reach clients of the same instance without Redis"
    assert run.back_after_heal_s is not None, "cross-instance delivery must resume once Redis is back"
    assert run.load.server_errors(READ_KINDS) == []


def etl(stack, *args: str, module: str = "etl_service", **env: str) -> subprocess.Popen:
    full_env = {**os.environ, **stack.env, "LOG_LEVEL": "WARNING", **env}
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=full_env)


def warehouse_equals_sources(stack) -> bool:
    source = sa.create_engine(stack.env["BOOKING_DB_URL"], connect_args={"ssl_disabled": True})
    warehouse = sa.create_engine(stack.env["WAREHOUSE_DB_URL"])
    try:
        with source.connect() as conn:
            expected = set(conn.execute(sa.text("SELECT id, status, total_price FROM bookings")).all())
        with warehouse.connect() as conn:
            got = set(conn.execute(sa.text("SELECT booking_id, status, total_price FROM fact_booking")).all())
    finally:
        source.dispose()
        warehouse.dispose()
    return bool(expected) and got == expected


def test_etl_killed_mid_run_then_rerun_warehouse_equals_sources(
    chaos_stack, load_users, fault_rows, tmp_path
):
    marker = tmp_path / "paused"
    properties = load_properties(chaos_stack.env["BOOKING_DB_URL"])
    with MixedLoad(chaos_stack.nginx_url, load_users, properties) as load:
        paused_at_batch_4 = ("4", str(marker), "run", "--full")
        process = etl(chaos_stack, *paused_at_batch_4, module="tests.support.etl_paused", BATCH_SIZE="25")
        try:
            assert wait_until(lambda: marker.exists() or process.poll() is not None, 60, 0.05)
            assert process.poll() is None, "the ETL ended before the paused batch"
        finally:
            fault_at = time.monotonic()
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        time.sleep(2)
    assert not warehouse_equals_sources(chaos_stack), "the killed run should have loaded only part"
    rerun = etl(chaos_stack, "run")
    assert rerun.wait(timeout=120) == 0
    heal_s = time.monotonic() - fault_at
    rec = reconcile(chaos_stack.env["BOOKING_DB_URL"], load.bookings)
    fault_rows.append(FaultRow.of("SIGKILL ETL mid-run, rerun", load, rec, fault_at, heal_s))
    assert rec.clean, rec
    assert warehouse_equals_sources(chaos_stack)
