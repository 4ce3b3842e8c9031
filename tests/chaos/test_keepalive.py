"""Keep-alive races (issue #15 item 10): after the pooled connections of every hop have idled at and
around each side's timeout, a burst of writes through nginx gets no 502. The hops close idle
connections client-first: nginx → gateway after 10 s (upstream keepalive_timeout), gateway → services
after 10 s (gateway/transport.py), while granian closes them after 30 s (infra/serve.py). Production
keep-alive settings on every hop; real private stack."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from gateway.transport import IDLE_SECONDS
from infra.serve import SERVER_IDLE_MS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
BURST = 20


def register(base: str) -> int:
    name = f"ka{uuid.uuid4().hex[:12]}"
    body = {"username": name, "email": f"{name}@example.com", "password": "keepalive-pw-1"}
    return requests.post(base + "/api/users/register", json=body, timeout=10).status_code


def burst(base: str) -> list[int]:
    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(lambda _: register(base), range(BURST)))


def test_bursts_of_writes_after_idling_around_each_keepalive_timeout_get_no_502(chaos_stack) -> None:
    server_idle = SERVER_IDLE_MS / 1000
    assert server_idle > IDLE_SECONDS, "clients must drop idle connections before the server does"
    base = chaos_stack.nginx_url
    assert burst(base) == [201] * BURST  # fills nginx's and the gateways' pools
    for idle in (IDLE_SECONDS - 0.5, IDLE_SECONDS + 0.5, server_idle - 0.5, server_idle + 0.5):
        time.sleep(idle)
        statuses = burst(base)
        assert statuses == [201] * BURST, f"after {idle:.1f} s idle: {sorted(set(statuses))}"
