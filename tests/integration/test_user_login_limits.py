"""Login failure limits (per email, per client IP) on the real service instances and Redis.

Each test uses its own emails and its own X-Forwarded-For address (honoured because the test client
connects from 127.0.0.1, the trusted proxy), so it cannot block other tests' logins.
"""

from __future__ import annotations

import uuid

import requests

from user_service import create_app
from user_service.settings import UserSettings


def new_user(base: str) -> dict[str, str]:
    name = f"l{uuid.uuid4().hex[:12]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "right password"}
    assert requests.post(base + "/api/users/register", json=user, timeout=10).status_code == 201
    return user


def fake_ip() -> str:
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


def login(base: str, email: str, password: str, ip: str) -> requests.Response:
    body = {"email": email, "password": password}
    return requests.post(base + "/api/users/login", json=body, headers={"X-Forwarded-For": ip}, timeout=10)


def test_ten_failures_for_one_email_then_429_on_every_instance(stack) -> None:
    first, second = stack.url("user_service", 0), stack.url("user_service", 1)
    user = new_user(first)
    for attempt in range(10):
        base = first if attempt % 2 else second
        assert login(base, user["email"], "wrong password", fake_ip()).status_code == 401
    for base in (first, second):
        blocked = login(base, user["email"], user["password"], fake_ip())
        assert blocked.status_code == 429
        assert blocked.json() == {"error": "Too many failed login attempts, try again later"}
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    other = new_user(first)
    assert login(second, other["email"], other["password"], fake_ip()).status_code == 200


def test_many_failures_from_one_ip_then_429_for_any_email(stack) -> None:
    base = stack.url("user_service", 0)
    ip = fake_ip()
    for i in range(50):
        assert (
            login(base, f"nobody{i}{uuid.uuid4().hex[:6]}@example.com", "guess-guess", ip).status_code == 401
        )
    user = new_user(base)
    blocked = login(base, user["email"], user["password"], ip)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert login(base, user["email"], user["password"], fake_ip()).status_code == 200


def test_login_works_without_rate_limits_when_redis_is_down(stack) -> None:
    """REDIS_URL points at a port nothing listens on: logins still answer 200/401, never 500."""
    settings = UserSettings(
        env="test",
        user_db_url=stack.env["USER_DB_URL"],
        user_db_replica_urls=stack.env["USER_DB_REPLICA_URLS"],
        redis_url="redis://127.0.0.1:1/0",
        jwt_private_key_file=str(stack.keys["private"]),
    )
    app = create_app(settings)
    client = app.test_client()
    user = new_user(stack.url("user_service", 0))
    for _ in range(12):
        assert (
            client.post(
                "/api/users/login", json={"email": user["email"], "password": "nope-nope"}
            ).status_code
            == 401
        )
    good = client.post("/api/users/login", json={"email": user["email"], "password": user["password"]})
    assert good.status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.get_json()["checks"]["redis"] == "down"
    app.extensions["user_service"].db.dispose()
