"""Fixtures of the security suite: one private stack for the whole package (fuzzing and the matrices
send far more requests than the shared stack's per-IP gateway limit allows, and brute-force tests trip
login limits other suites would then hit), and real users registered through nginx."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests
import sqlalchemy as sa

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from tests.conftest import stop_private_stack
from tests.support.data import insert_property
from tests.support.faults import start_unthrottled_stack

SESSION_STARTED = time.time()  # imported at collection, before any test of the session runs


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def sec_stack() -> Iterator:
    stack = start_unthrottled_stack("hrp-security-")  # the gateway's limits only; login limits stay on
    yield stack
    stop_private_stack(stack)


def login(stack, email: str, password: str) -> str:
    response = requests.post(
        stack.nginx_url + "/api/users/login", json={"email": email, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.fixture(scope="session")
def new_account(sec_stack) -> Callable[[], Account]:
    def make() -> Account:
        name = f"sec{uuid.uuid4().hex[:10]}"
        email, password = f"{name}@example.com", f"pw-{uuid.uuid4().hex[:12]}"
        body = {"username": name, "email": email, "password": password}
        registered = requests.post(sec_stack.nginx_url + "/api/users/register", json=body, timeout=10)
        assert registered.status_code == 201, registered.text
        token = login(sec_stack, email, password)
        profile = requests.get(
            sec_stack.nginx_url + "/api/users/profile",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        return Account(profile.json()["id"], email, password, token)

    return make


def fresh_admin(stack, users_db: sa.Engine) -> Account:
    """The dev admin with a fresh token: a role change or logout an earlier test (or the fuzzer) made
    revokes tokens now, so none is shared across modules, and the role is put back first."""
    with users_db.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET role = 'admin' WHERE email = :email"), {"email": DEV_ADMIN_EMAIL}
        )
    token = login(stack, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)
    me = requests.get(
        stack.nginx_url + "/api/users/profile", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    return Account(me.json()["id"], DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, token)


@pytest.fixture
def admin(sec_stack, users_db: sa.Engine) -> Account:
    return fresh_admin(sec_stack, users_db)


@pytest.fixture(scope="module")
def module_admin(sec_stack, users_db: sa.Engine) -> Account:
    return fresh_admin(sec_stack, users_db)


@pytest.fixture(scope="session")
def booking_db(sec_stack) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sec_stack.env["BOOKING_DB_URL"], connect_args={"ssl_disabled": True})
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def users_db(sec_stack) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sec_stack.env["USER_DB_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def own_property(booking_db) -> int:
    """A fresh available property straight in MariaDB, so no other test (or the fuzzer) shares it."""
    return insert_property(booking_db, "Security, SC", 100, "sec")
