"""Token and credential attacks against a real user service instance (real PostgreSQL, Redis, keys)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import statistics
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

PROFILE = "/api/users/profile"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(signature)


def claims(user_id: int, **overrides: object) -> dict:
    now = int(time.time())
    return {
        "sub": str(user_id),
        "role": "user",
        "iat": now,
        "exp": now + 600,
        "iss": "home-rental-platform",
        **overrides,
    }


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


def test_tampered_payload_is_rejected(stack, account: dict) -> None:
    head, _, signature = account["token"].split(".")
    forged = b64(json.dumps(claims(account["id"], role="admin")).encode())
    assert_rejected(profile_status(stack, f"{head}.{forged}.{signature}"))


def test_tampered_signature_is_rejected(stack, account: dict) -> None:
    head, body, signature = account["token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_rejected(profile_status(stack, f"{head}.{body}.{flipped}"))


def test_alg_none_is_rejected(stack, account: dict) -> None:
    assert_rejected(profile_status(stack, unsigned({"alg": "none", "typ": "JWT"}, claims(account["id"]))))


def test_hs256_signed_with_the_public_key_is_rejected(stack, account: dict) -> None:
    public_pem = stack.keys["public"].read_bytes()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims(account["id"], role="admin")).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert_rejected(profile_status(stack, f"{head}.{body}.{b64(signature)}"))


def test_token_signed_by_another_key_is_rejected(stack, account: dict) -> None:
    token = jwt.encode(claims(account["id"]), Ed25519PrivateKey.generate(), algorithm="EdDSA")
    assert_rejected(profile_status(stack, token))


def test_expired_token_is_rejected(stack, account: dict) -> None:
    past = int(time.time()) - 3600
    assert_rejected(profile_status(stack, stack.token(account["id"], iat=past - 60, exp=past)))


def test_token_from_another_issuer_is_rejected(stack, account: dict) -> None:
    assert_rejected(profile_status(stack, stack.token(account["id"], iss="someone-else")))


def test_token_without_exp_is_rejected(stack, account: dict) -> None:
    no_exp = {k: v for k, v in claims(account["id"]).items() if k != "exp"}
    private = load_pem_private_key(stack.keys["private"].read_bytes(), None)
    assert_rejected(profile_status(stack, jwt.encode(no_exp, private, algorithm="EdDSA")))


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
