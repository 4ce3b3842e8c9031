"""Token and credential attacks against a real user service instance (real PostgreSQL, Redis, keys)."""

from __future__ import annotations

import statistics
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.support.forged_tokens import ATTACKS, claims, forged_tokens

PROFILE = "/api/users/profile"


@pytest.fixture(scope="module")
def account(stack) -> dict:
    """A registered user, its id and a genuine token."""
    base = stack.url("user_service", 0)
    name = f"t{uuid.uuid4().hex[:12]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "token tests"}
    requests.post(base + "/api/users/register", json=user, timeout=10)
    token = requests.post(base + "/api/users/login", json=user, timeout=10).json()["token"]
    user_id = requests.get(base + PROFILE, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()[
        "id"
    ]
    return {**user, "id": user_id, "token": token}


def profile_status(stack, token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(stack.url("user_service", 0) + PROFILE, headers=headers, timeout=10)


def assert_rejected(response: requests.Response) -> None:
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or expired token"}


def test_the_genuine_token_is_accepted(stack, account: dict) -> None:
    assert profile_status(stack, account["token"]).json()["id"] == account["id"]


def test_a_token_made_like_the_forgeries_but_valid_is_accepted(stack, account: dict) -> None:
    """Control: the forgeries below fail because they are forged, not because of how they are made."""
    token = jwt.encode(claims(account["id"]), private_key(stack), algorithm="EdDSA")
    assert profile_status(stack, token).json()["id"] == account["id"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_forged_token_is_rejected(stack, account: dict, attack: str) -> None:
    public_pem = stack.keys["public"].read_bytes()
    assert_rejected(
        profile_status(stack, forged_tokens(private_key(stack), public_pem, account["id"])[attack])
    )


def private_key(stack):  # type: ignore[no-untyped-def]
    return load_pem_private_key(stack.keys["private"].read_bytes(), None)


def test_password_hash_never_appears_in_responses_or_logs(stack, account: dict) -> None:
    base = stack.url("user_service", 0)
    texts = [
        requests.get(
            base + PROFILE, headers={"Authorization": f"Bearer {account['token']}"}, timeout=10
        ).text,
        requests.get(
            base + "/api/users/allusers",
            headers={"Authorization": f"Bearer {stack.token(1, 'admin')}"},
            timeout=10,
        ).text,
    ]
    texts += [stack.log_path("user_service", i).read_text() for i in (0, 1)]
    for text in texts:
        assert "$argon2" not in text
        assert account["password"] not in text


def test_unknown_email_costs_as_much_as_a_wrong_password(stack, account: dict) -> None:
    """Both 401 paths run one argon2 verify: unknown emails must not answer measurably faster."""
    base = stack.url("user_service", 1)

    emails = {"known": account["email"], "unknown": f"missing-{uuid.uuid4().hex}@example.com"}
    samples: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(7):  # interleaved so load changes hit both; 7 stays below the 10-failure email limit
        for kind, email in emails.items():
            body = {"email": email, "password": f"wrong password {i}"}
            started = time.perf_counter()
            response = requests.post(
                base + "/api/users/login", json=body, headers={"X-Forwarded-For": f"10.250.{i}.7"}, timeout=10
            )
            samples[kind].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 401
    known, unknown = (statistics.median(samples[kind]) for kind in ("known", "unknown"))
    assert unknown > 0.5 * known, (known, unknown)
