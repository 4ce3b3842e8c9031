"""Read routing of the user service on the stack's real PostgreSQL primary + streaming replica.

The in-process app (same code, same settings as the gunicorn instances) exposes per-engine statement
counters, which is how these tests see which server answered; the running instances are checked over HTTP.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from tests.support.faults import wait_until
from user_service import create_app
from user_service.settings import UserSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(stack) -> Iterator[Flask]:
    settings = UserSettings(
        env="test",
        user_db_url=stack.env["USER_DB_URL"],
        user_db_replica_urls=stack.env["USER_DB_REPLICA_URLS"],
        redis_url=stack.env["REDIS_URL"],
        jwt_private_key_file=str(stack.keys["private"]),
        jwt_public_key_file=stack.env["JWT_PUBLIC_KEY_FILE"],
        replica_retry_seconds=0.5,
        profile_copy_seconds=0,  # these tests watch which server answers each profile read
    )
    application = create_app(settings)
    yield application
    application.extensions["user_service"].uow.db.dispose()


def counts(app: Flask) -> dict[str, int]:
    return dict(app.extensions["user_service"].uow.db.query_counts)


def sign_up(client: FlaskClient) -> tuple[dict[str, str], str]:
    name = f"r{uuid.uuid4().hex[:12]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "replicated!"}
    assert client.post("/api/users/register", json=user).status_code == 201
    login = client.post("/api/users/login", json={"email": user["email"], "password": user["password"]})
    assert login.status_code == 200
    return user, login.get_json()["token"]


def on_replica(stack, email: str) -> bool:
    replica = make_url(stack.env["USER_DB_REPLICA_URLS"].split(",")[0]).set(drivername="postgresql")
    with psycopg.connect(replica.render_as_string(hide_password=False), autocommit=True) as conn:
        return conn.execute("select 1 from users where email = %s", (email,)).fetchone() is not None


def profile_routed(app: Flask, client: FlaskClient, token: str) -> tuple[dict, dict[str, int]]:
    """The profile body and how many statements each engine ran for it."""
    before = counts(app)
    response = client.get("/api/users/profile", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    after = counts(app)
    return response.get_json(), {name: after.get(name, 0) - before.get(name, 0) for name in after}


def test_profile_read_is_served_by_the_replica(stack, app: Flask) -> None:
    client = app.test_client()
    user, token = sign_up(client)
    assert wait_until(lambda: on_replica(stack, user["email"]), 10, 0.05)
    body, ran = profile_routed(app, client, token)
    assert body["email"] == user["email"]
    assert ran.get("replica0", 0) >= 1
    assert ran.get("primary", 0) == 0


def test_login_reads_the_primary(app: Flask) -> None:
    client = app.test_client()
    user, _ = sign_up(client)
    before = counts(app)
    client.post("/api/users/login", json={"email": user["email"], "password": user["password"]})
    after = counts(app)
    assert after["primary"] > before.get("primary", 0)
    assert after.get("replica0", 0) == before.get("replica0", 0)


def test_profile_survives_a_stopped_replica_and_returns_to_it(stack, app: Flask, caplog) -> None:
    client = app.test_client()
    user, token = sign_up(client)
    assert wait_until(lambda: on_replica(stack, user["email"]), 10, 0.05)
    service = stack.url("user_service", 0)
    headers = {"Authorization": f"Bearer {token}"}
    stack.stop_server("postgres_replica")
    try:
        with caplog.at_level(logging.WARNING, logger="user_service.database"):
            body, ran = profile_routed(app, client, token)
        assert body["email"] == user["email"]
        assert ran.get("primary", 0) >= 1
        assert any("replica0 unreachable" in record.getMessage() for record in caplog.records)
        over_http = requests.get(service + "/api/users/profile", headers=headers, timeout=10)
        assert over_http.status_code == 200 and over_http.json()["email"] == user["email"]
        ready = requests.get(service + "/ready", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"]["primary"] == "ok"
        assert ready.json()["checks"]["replica"] == "down"
    finally:
        stack.start_server("postgres_replica")
    assert wait_until(lambda: profile_routed(app, client, token)[1].get("replica0", 0) >= 1, 10, 0.05)
    assert requests.get(service + "/ready", timeout=10).json()["checks"]["replica"] == "ok"


def test_allusers_reads_the_replica(stack, app: Flask) -> None:
    client = app.test_client()
    admin = {"Authorization": f"Bearer {stack.token(1, 'admin')}"}
    assert wait_until(lambda: client.get("/api/users/allusers?limit=1", headers=admin).status_code == 200, 5)
    before = counts(app)
    assert client.get("/api/users/allusers?limit=5", headers=admin).status_code == 200
    after = counts(app)
    assert after.get("replica0", 0) > before.get("replica0", 0)
    assert after["primary"] == before["primary"]


def test_register_then_login_200_times_never_401(stack) -> None:
    """Read-your-writes across instances: register on one, log in and read the profile on the other."""
    first, second = stack.url("user_service", 0), stack.url("user_service", 1)
    with requests.Session() as one, requests.Session() as two:
        for i in range(200):
            name = f"ryw{i}{uuid.uuid4().hex[:10]}"
            user = {"username": name, "email": f"{name}@example.com", "password": "read-my-write"}
            assert one.post(first + "/api/users/register", json=user, timeout=10).status_code == 201
            creds = {"email": user["email"], "password": user["password"]}
            login = two.post(second + "/api/users/login", json=creds, timeout=10)
            assert login.status_code == 200, (i, login.text)
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            profile = one.get(first + "/api/users/profile", headers=headers, timeout=10)
            assert profile.status_code == 200 and profile.json()["email"] == user["email"], (i, profile.text)
