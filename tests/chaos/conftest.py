"""Fixtures of the fault-injection suite: a private stack per module (faults must not hit the shared
session stack), real users to drive load with, and the fault table printed at the end of the run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import start_private_stack, stop_private_stack
from tests.support.faults import UNTHROTTLED_ENV, FaultRow, publish, wait_until
from tests.support.load import LoadUser
from tests.support.logscan import scan_stack

FAULT_ROWS: list[FaultRow] = []


@pytest.fixture(scope="module")
def chaos_stack() -> Iterator:
    stack, _ = start_private_stack("hrp-chaos-", with_services=False)
    try:
        stack.env.update(UNTHROTTLED_ENV)
        stack.up()
        assert wait_until(lambda: serves_api(stack), 30), "the private stack never served the API"
    except BaseException:
        stop_private_stack(stack)
        raise
    yield stack
    leaks = scan_stack(stack.root)
    stop_private_stack(stack)
    assert leaks == [], "logs hold secrets:\n" + "\n".join(leaks[:20])


def serves_api(stack) -> bool:
    """Both gateways see healthy upstreams (their checkers start on first use)."""
    for i in (0, 1):
        if requests.get(stack.url("gateway", i) + "/ready", timeout=2).status_code != 200:
            return False
    return requests.get(stack.nginx_url + "/api/users/profile", timeout=2).status_code == 401


@pytest.fixture(scope="module")
def load_users(chaos_stack) -> list[LoadUser]:
    """Four registered users (their profile reads must work), logged in through nginx."""
    users = []
    for _ in range(4):
        name = f"chaos{uuid.uuid4().hex[:10]}"
        creds = {"email": f"{name}@example.com", "password": "chaos-password-1"}
        base = chaos_stack.nginx_url + "/api/users"
        registered = requests.post(base + "/register", json={"username": name, **creds}, timeout=10)
        assert registered.status_code == 201, registered.text
        token = requests.post(base + "/login", json=creds, timeout=10).json()["token"]
        profile = requests.get(base + "/profile", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        users.append(LoadUser(profile.json()["id"], token))
    return users


@pytest.fixture
def fault_rows() -> list[FaultRow]:
    return FAULT_ROWS


def pytest_terminal_summary(terminalreporter) -> None:
    if FAULT_ROWS:
        terminalreporter.section("fault injection")
        terminalreporter.write_line(publish(FAULT_ROWS))
