"""Requests waiting on something slow do not hold up the reads behind them.

A granian worker runs each request on one of its blocking threads for the whole of the request, its waits
on other servers included, and queues what finds every thread busy in arrival order. A login waits ~20 ms
of argon2 CPU per login ahead of it on the user_service's two argon2 threads; the gateway's thread waits
for the whole login. So while more logins wait than a server has threads, every request that arrives
after them queues behind them: with 8 threads (the count before), a read sent after 24 logins was only
answered once 17 of them were. Both servers now keep more threads than that (infra/serve.py
`THREADS_BY_PACKAGE`). Real private stack; the order in which the answers arrive is what is checked.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

LOGINS = 24  # waiting at once: more than 8 threads, fewer than 32
PASSWORD = "slow-requests-password-1"


def register(base_url: str) -> dict[str, str]:
    creds = {"email": f"slow-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD}
    answer = requests.post(
        f"{base_url}/api/users/register", json={"username": uuid.uuid4().hex[:12], **creds}, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return creds


def login_finished_at(base_url: str, creds: dict[str, str]) -> float:
    answer = requests.post(f"{base_url}/api/users/login", json=creds, timeout=60)
    assert answer.status_code == 200, answer.text
    return time.monotonic()


def logins_finished_before_read(base_url: str, read_path: str, token: str) -> int:
    """Sends LOGINS logins at once, then (once they have reached the server) a signed-in GET of
    `read_path`; how many logins were answered before the read was. Each account logs in once first:
    parallel logins of a client that has not yet proven the password are throttled as guesses
    (user_service/limiter.py)."""
    accounts = [register(base_url) for _ in range(4)]
    for creds in accounts:
        login_finished_at(base_url, creds)
    with ThreadPoolExecutor(LOGINS) as pool:
        logins = [
            pool.submit(login_finished_at, base_url, accounts[i % len(accounts)]) for i in range(LOGINS)
        ]
        time.sleep(0.05)
        answer = requests.get(base_url + read_path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        read_at = time.monotonic()
        assert answer.status_code == 200, answer.text
        finished = [future.result() for future in logins]
    return sum(at < read_at for at in finished)


def test_a_gateway_answers_reads_while_logins_wait_on_user_service(stack) -> None:
    gateway = stack.url("gateway", 0)
    before = logins_finished_before_read(gateway, "/api/bookings/mine", stack.token(7_200_001))
    assert before < LOGINS // 2, f"{before} of {LOGINS} logins were answered before the read"


def test_user_service_answers_profiles_while_logins_wait_on_argon2(stack) -> None:
    user_service = stack.url("user_service", 0)
    creds = register(user_service)
    token = requests.post(f"{user_service}/api/users/login", json=creds, timeout=30).json()["token"]
    before = logins_finished_before_read(user_service, "/api/users/profile", token)
    assert before < LOGINS // 2, f"{before} of {LOGINS} logins were answered before the read"
