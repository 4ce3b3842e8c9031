"""`python -m user_service migrate | create-admin | set-role` against the stack's real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import jwt
import requests

REPO = Path(__file__).resolve().parents[2]


def cli(stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **stack.env,
        "JWT_PRIVATE_KEY_FILE": str(stack.keys["private"]),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "user_service", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def login(stack, email: str, password: str) -> requests.Response:
    body = {"email": email, "password": password}
    return requests.post(stack.url("user_service", 0) + "/api/users/login", json=body, timeout=10)


def test_migrate_is_idempotent(stack) -> None:
    result = cli(stack, "migrate")
    assert result.returncode == 0, result.stderr
    assert "migrated to head" in result.stdout


def test_create_admin_creates_then_updates_the_same_account(stack) -> None:
    email = f"Boss{uuid.uuid4().hex[:8]}@Example.com"
    first = cli(stack, "create-admin", "--email", email, "--password", "first password")
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    second = cli(stack, "create-admin", "--email", email.lower(), "--password", "second password")
    assert second.returncode == 0, second.stderr
    assert "updated" in second.stdout
    assert login(stack, email, "first password").status_code == 401
    token = login(stack, email, "second password").json()["token"]
    assert jwt.decode(token, options={"verify_signature": False})["role"] == "admin"


def test_create_admin_promotes_an_existing_user(stack) -> None:
    name = f"p{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "plain user"}
    requests.post(stack.url("user_service", 0) + "/api/users/register", json=user, timeout=10)
    result = cli(stack, "create-admin", "--email", user["email"], "--password", "now an admin")
    assert result.returncode == 0 and "updated" in result.stdout
    token = login(stack, user["email"], "now an admin").json()["token"]
    profile = requests.get(
        stack.url("user_service", 0) + "/api/users/profile",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert profile.json()["username"] == name
    assert jwt.decode(token, options={"verify_signature": False})["role"] == "admin"


def test_set_role_changes_the_role_and_reports_unknown_emails(stack) -> None:
    name = f"s{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "becomes host"}
    requests.post(stack.url("user_service", 0) + "/api/users/register", json=user, timeout=10)
    assert cli(stack, "set-role", "--email", user["email"], "--role", "host").returncode == 0
    token = login(stack, user["email"], user["password"]).json()["token"]
    assert jwt.decode(token, options={"verify_signature": False})["role"] == "host"
    missing = cli(stack, "set-role", "--email", f"x{name}@example.com", "--role", "host")
    assert missing.returncode == 1 and "no user" in missing.stderr


def test_create_admin_rejects_bad_input_without_writing(stack) -> None:
    bad_email = cli(stack, "create-admin", "--email", "not-an-email", "--password", "long enough")
    assert bad_email.returncode == 2 and "email is not a valid email address" in bad_email.stderr
    email = f"short{uuid.uuid4().hex[:8]}@example.com"
    short = cli(stack, "create-admin", "--email", email, "--password", "short")
    assert short.returncode == 2 and "password must be 8-128 characters" in short.stderr
    assert login(stack, email, "short").status_code == 401
