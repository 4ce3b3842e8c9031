"""Unit tests of the user service's rules: validation, passwords, token signing, settings and app wiring.
The service layer on the in-memory unit of work is in test_user_accounts.py.

No servers: `create_app` must not connect to anything until a request needs it.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, Future

import jwt
import pytest

from common.auth import TokenVerifier
from common.errors import BadRequest
from common.settings import ConfigurationError
from tests.support.user_fakes import (
    FAST_ARGON2,
    FAST_HASHES,
    offline_settings,
    private_pem,
)
from user_service import create_app, token_signer, validation
from user_service.api import client_ip
from user_service.passwords import Passwords, low_priority_pool
from user_service.tokens import TokenSigner


def test_registration_trims_and_lowercases() -> None:
    new = validation.registration(
        {"username": " ann.b-c_1 ", "email": " Ann@Example.COM ", "password": "p" * 8}
    )
    assert (new.username, new.email, new.password) == ("ann.b-c_1", "ann@example.com", "p" * 8)


def test_password_is_not_trimmed() -> None:
    assert validation.registration(
        {"username": "ann", "email": "a@b.co", "password": " spaced  "}
    ).password == (" spaced  ")


@pytest.mark.parametrize("email", ["a@b", "@b.co", "a@@b.co", "a@b\n.co", "a@b..co", "ä@b.co", "a@b.co x"])
def test_malformed_emails_are_rejected(email: str) -> None:
    with pytest.raises(BadRequest, match="email is not a valid email address"):
        validation.valid_email(email)


@pytest.mark.parametrize("username", ["abc", "A" * 32, "a.b", "a-b", "a_b", "123"])
def test_usernames_within_the_rules_pass(username: str) -> None:
    assert validation.valid_username(username) == username


@pytest.mark.parametrize("username", ["ab", "A" * 33, "a b", "abc\ndef", "émile", "a/b"])
def test_usernames_outside_the_rules_fail(username: str) -> None:
    with pytest.raises(BadRequest):
        validation.valid_username(username)


@pytest.mark.parametrize(
    ("args", "expected"),
    [({}, (100, 0)), ({"limit": "1000", "offset": "5"}, (1000, 5)), ({"limit": ""}, (100, 0))],
)
def test_paging_defaults_and_bounds(args: dict[str, str], expected: tuple[int, int]) -> None:
    assert validation.page(args) == expected


def test_passwords_verify_only_the_right_password_and_never_without_a_hash() -> None:
    passwords = FAST_HASHES
    stored = passwords.hash("right password")
    assert stored.startswith("$argon2id$") and "right password" not in stored
    assert passwords.verify(stored, "right password")
    assert not passwords.verify(stored, "wrong password")
    assert not passwords.verify(None, "dummy-password-for-timing")
    assert not passwords.verify("not-a-hash", "right password")


def test_argon2_runs_on_threads_of_the_lowest_scheduling_class_and_leaves_the_caller_alone() -> None:
    def priority() -> int:
        return os.sched_getscheduler(threading.get_native_id())

    caller = priority()
    pool = low_priority_pool(1)
    try:
        assert pool.submit(priority).result() == os.SCHED_IDLE
        passwords = Passwords(**FAST_ARGON2, runner=pool)
        assert passwords.verify(passwords.hash("pw"), "pw")
    finally:
        pool.shutdown()
    assert priority() == caller


def test_passwords_hash_and_verify_on_the_runner_they_are_given() -> None:
    class Inline(Executor):
        def __init__(self) -> None:
            self.calls = 0

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def,override]
            self.calls += 1
            future: Future = Future()
            future.set_result(fn(*args, **kwargs))
            return future

    inline = Inline()
    passwords = Passwords(**FAST_ARGON2, runner=inline)
    assert not passwords.verify(passwords.hash("pw"), "other")
    assert inline.calls == 2


def test_passwords_flag_hashes_made_with_weaker_parameters() -> None:
    weak = FAST_HASHES.hash("pw")
    assert Passwords(time_cost=2, memory_kib=2048).needs_rehash(weak)


def test_issued_token_has_the_agreed_claims_and_verifies_with_common_auth() -> None:
    signer = TokenSigner(
        private_pem(), issuer="home-rental-platform", key_id="user-service-1", ttl_seconds=600
    )
    token = signer.issue(42, "host")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == "user-service-1"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "42" and claims["role"] == "host" and claims["iss"] == "home-rental-platform"
    assert claims["exp"] - claims["iat"] == 600
    identity = TokenVerifier(signer.public_key_pem, "home-rental-platform").verify(token)
    assert (identity.user_id, identity.role) == (42, "host")


def test_production_refuses_to_start_without_a_private_key() -> None:
    with pytest.raises(ConfigurationError, match="JWT_PRIVATE_KEY"):
        offline_settings(
            env="production", secret_key="a-real-secret", jwt_private_key=None, jwt_private_key_file=None
        )


def test_a_public_key_that_does_not_match_the_private_key_is_refused() -> None:
    other_public = TokenSigner(private_pem(), issuer="i", key_id="k", ttl_seconds=1).public_key_pem
    with pytest.raises(ConfigurationError, match="does not match"):
        token_signer(offline_settings(jwt_private_key=private_pem(), jwt_public_key=other_public))


def test_create_app_connects_to_nothing_and_is_unready_without_a_primary() -> None:
    app = create_app(offline_settings(jwt_private_key=private_pem()))
    client = app.test_client()
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["primary"] == "down"


def test_database_outage_is_a_json_503_not_a_500() -> None:
    client = create_app(offline_settings(jwt_private_key=private_pem())).test_client()
    body = {"username": "nodb_user", "email": "nodb@example.com", "password": "long enough"}
    response = client.post("/api/users/register", json=body)
    assert response.status_code == 503
    assert response.get_json() == {"error": "Service unavailable"}
    assert response.headers["Retry-After"] == "1"


def test_forwarded_for_is_honoured_only_from_a_trusted_proxy() -> None:
    app = create_app(offline_settings(jwt_private_key=private_pem(), trusted_proxies="192.0.2.1"))
    untrusted = {"headers": {"X-Forwarded-For": "6.6.6.6"}, "environ_base": {"REMOTE_ADDR": "127.0.0.1"}}
    with app.test_request_context(**untrusted):
        assert client_ip() == "127.0.0.1"
    trusted = {
        "headers": {"X-Forwarded-For": "6.6.6.6, 192.0.2.1"},
        "environ_base": {"REMOTE_ADDR": "192.0.2.1"},
    }
    with app.test_request_context(**trusted):
        assert client_ip() == "6.6.6.6"
