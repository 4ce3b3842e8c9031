"""User-service helpers for tests on the real stack: a registered user's id, the service in-process."""

from __future__ import annotations

import uuid

import requests
from flask import Flask

from user_service import create_app
from user_service.settings import UserSettings


def new_user(base: str) -> dict[str, str]:
    """Registers a fresh user at `base` (a gateway or user_service URL); its username, email and password."""
    name = f"l{uuid.uuid4().hex[:12]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "right password"}
    assert requests.post(base + "/api/users/register", json=user, timeout=10).status_code == 201
    return user


def fake_ip() -> str:
    """A client address of its own (sent as X-Forwarded-For), so limits one test hits block no other."""
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


def registered_user_id(stack, instance: int = 0) -> int:
    """Registers a fresh user through a user_service instance and returns its id."""
    users = stack.url("user_service", instance)
    name = f"r{uuid.uuid4().hex[:12]}"
    body = {"username": name, "email": f"{name}@example.com", "password": "registered here"}
    assert requests.post(f"{users}/api/users/register", json=body, timeout=10).status_code == 201
    token = requests.post(f"{users}/api/users/login", json=body, timeout=10).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{users}/api/users/profile", headers=auth, timeout=10).json()["id"]


def in_process_user_app(stack, **overrides: object) -> Flask:
    """The user service in this process on the stack's databases and Redis; `overrides` are settings."""
    values: dict[str, object] = {
        "env": "test",
        "user_db_url": stack.env["USER_DB_URL"],
        "user_db_replica_urls": stack.env["USER_DB_REPLICA_URLS"],
        "redis_url": stack.env["REDIS_URL"],
        "jwt_private_key_file": str(stack.keys["private"]),
    }
    return create_app(UserSettings(**{**values, **overrides}))
