"""Fixtures of the fault-injection suite: a private stack per module (faults must not hit the shared
session stack), real users to drive load with, and the fault table printed at the end of the run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import stop_private_stack
from tests.support.faults import FREEZE_LINES, FaultRow, publish, start_unthrottled_stack
from tests.support.load import LoadUser
from tests.support.logscan import scan_stack

FAULT_ROWS: list[FaultRow] = []


@pytest.fixture(scope="module")
def chaos_stack() -> Iterator:
    stack = start_unthrottled_stack("hrp-chaos-")
    yield stack
    leaks = scan_stack(stack.root)
    stop_private_stack(stack)
    assert leaks == [], "logs hold secrets:\n" + "\n".join(leaks[:20])


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
    if FAULT_ROWS or FREEZE_LINES:
        terminalreporter.section("fault injection")
        terminalreporter.write_line(publish(FAULT_ROWS))
