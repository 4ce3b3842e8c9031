"""The gateway's own rate limits in front of real upstreams: per IP, per user across IPs, and with
its Redis down."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import requests

from tests.support.gateway_rig import Upstream, make_gateway, token
from tests.support.net import free_port


def test_rate_limit_per_ip_is_429_with_retry_after(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream], stack: Any
) -> None:
    gw = make_gateway(
        keys, upstreams, rate_limit_enabled=True, redis_url=stack.env["REDIS_URL"], rate_limit="5/minute"
    )
    client_ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    try:
        statuses = [
            requests.get(f"{gw.url}/api/users/login", headers={"X-Forwarded-For": client_ip}, timeout=5)
            for _ in range(7)
        ]
        assert [r.status_code for r in statuses] == [200] * 5 + [429] * 2
        assert statuses[-1].json() == {"error": "Too many requests"}
        assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60
        other_ip = requests.get(
            f"{gw.url}/api/users/login", headers={"X-Forwarded-For": "10.0.0.1"}, timeout=5
        )
        assert other_ip.status_code == 200
    finally:
        gw.close()


def test_rate_limit_per_user_holds_across_client_ips(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream], stack: Any
) -> None:
    gw = make_gateway(
        keys, upstreams, rate_limit_enabled=True, redis_url=stack.env["REDIS_URL"], user_rate_limit="3/minute"
    )
    auth = {"Authorization": f"Bearer {token(keys, user_id=random.randint(10**6, 10**7))}"}
    try:
        statuses = [
            requests.get(
                f"{gw.url}/api/users/profile", headers={**auth, "X-Forwarded-For": f"10.9.0.{i}"}, timeout=5
            ).status_code
            for i in range(1, 6)
        ]
        assert statuses == [200, 200, 200, 429, 429]
    finally:
        gw.close()


def test_rate_limit_store_down_still_limits_in_process_and_never_fails_a_request(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream]
) -> None:
    """A Redis outage is neither an API outage nor a free pass: each process counts on its own."""
    gw = make_gateway(
        keys,
        upstreams,
        rate_limit_enabled=True,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        rate_limit="2/minute",
    )
    try:
        responses = [requests.get(f"{gw.url}/api/users/login", timeout=5) for _ in range(5)]
        assert [r.status_code for r in responses] == [200, 200, 429, 429, 429]
        assert responses[-1].json() == {"error": "Too many requests"}
    finally:
        gw.close()
