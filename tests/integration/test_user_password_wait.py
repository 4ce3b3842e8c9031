"""A login or registration that waits too long for the password threads is answered 429 with Retry-After
by user_service itself (before the gateway's upstream timeout, which would count against the instance's
health in its breaker), writes nothing and is not counted as a guess.
Real PostgreSQL and Redis of the test stack; the service runs in this process with a wait (1 ms) that no
argon2 check at the production parameters (~20 ms of CPU) can meet."""

from __future__ import annotations

import uuid

from tests.support.users import fake_ip, in_process_user_app, new_user
from user_service.limiter import Attempt, LoginLimiter, LoginLimits

BUSY = {"error": "Server busy, try again shortly"}


def test_a_login_the_password_threads_cannot_take_in_time_is_429_and_no_guess(stack) -> None:
    user = new_user(stack.url("user_service", 0))
    app = in_process_user_app(stack, password_wait_seconds=0.001)
    client, one_address = app.test_client(), {"X-Forwarded-For": fake_ip()}
    right = {"email": user["email"], "password": user["password"]}
    for _ in range(8):  # more than the 5 free attempts: had they counted, the next ones would be blocked
        busy = client.post("/api/users/login", json=right, headers=one_address)
        assert busy.status_code == 429 and busy.get_json() == BUSY
        assert busy.headers["Retry-After"] == "1"
    patient = in_process_user_app(stack)
    answer = patient.test_client().post("/api/users/login", json=right, headers=one_address)
    assert answer.status_code == 200 and answer.get_json()["token"]
    for used in (app, patient):
        used.extensions["user_service"].uow.db.dispose()


def test_a_registration_the_password_threads_cannot_take_in_time_writes_nothing(stack) -> None:
    name = f"w{uuid.uuid4().hex[:12]}"
    new = {"username": name, "email": f"{name}@example.com", "password": "right password"}
    app = in_process_user_app(stack, password_wait_seconds=0.001)
    busy = app.test_client().post("/api/users/register", json=new)
    assert busy.status_code == 429 and busy.get_json() == BUSY
    patient = in_process_user_app(stack)
    assert patient.test_client().post("/api/users/register", json=new).status_code == 201  # the name was free
    for used in (app, patient):
        used.extensions["user_service"].uow.db.dispose()


def test_an_abandoned_attempt_gives_its_charge_back(stack) -> None:
    """Without the refund the sixth attempt of a pair is blocked (5 free, then a backoff)."""
    limiter = LoginLimiter(stack.env["REDIS_URL"], LoginLimits())
    email, ip = f"a{uuid.uuid4().hex[:12]}@example.com", fake_ip()
    for _ in range(8):
        attempt = limiter.begin(email, ip)
        assert isinstance(attempt, Attempt) and attempt.charged
        limiter.abandoned(attempt)
    charged = [limiter.begin(email, ip) for _ in range(6)]
    assert isinstance(charged[-1], Attempt) is False  # the same attempts, not given back, are blocked
