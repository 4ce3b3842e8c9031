"""nginx sends a signed-in client's requests to one gateway (a consistent hash of its token), so the copies
of its bookings and its rate-limit bucket live in one gateway; anonymous requests spread over both.
Real private stack (nginx, two gateways, the services); the gateway that answered is read from nginx's
access log (`upstream.address`). That a failed gateway's clients move to the other is tested in
tests/chaos/test_gateway_resilience.py and test_freezes.py."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests

TOKENS = 24  # all on one gateway by chance: 2 x 2^-24


def answered_by(stack: Any, request_ids: set[str], timeout: float = 5.0) -> dict[str, str]:
    """request id -> the gateway address nginx sent it to."""
    log = stack.root / "nginx" / "logs" / "access.log"
    deadline = time.monotonic() + timeout
    while True:
        found = {}
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and any(request_id in line for request_id in request_ids):
                doc = json.loads(line)
                found[doc["http.request.id"]] = doc["upstream.address"]
        if found.keys() >= request_ids or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def send(stack: Any, path: str, token: str | None) -> str:
    request_id = uuid.uuid4().hex
    headers = {"X-Request-ID": request_id, "Cache-Control": "no-cache"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.get(f"{stack.nginx_url}{path}", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return request_id


def test_one_token_s_requests_go_to_one_gateway_and_tokens_spread_over_both(stack) -> None:
    gateways = {f"127.0.0.1:{port}" for port in stack.ports.services["gateway"]}
    assert len(gateways) == 2
    sent: dict[int, set[str]] = {}
    for user_id in range(7_100_000, 7_100_000 + TOKENS):
        token = stack.token(user_id)
        sent[user_id] = {send(stack, "/api/bookings/mine", token) for _ in range(6)}
    where = answered_by(stack, set().union(*sent.values()))
    per_user = {user_id: {where[request_id] for request_id in ids} for user_id, ids in sent.items()}
    assert all(len(addresses) == 1 for addresses in per_user.values()), per_user
    assert set().union(*per_user.values()) == gateways


def test_anonymous_requests_spread_over_both_gateways(stack) -> None:
    gateways = {f"127.0.0.1:{port}" for port in stack.ports.services["gateway"]}
    ids = {send(stack, "/api/bookings/properties?limit=1", None) for _ in range(40)}
    assert set(answered_by(stack, ids).values()) == gateways
